"""What both recorders do with the local llama-server: POST a JSON body, and wait until /health answers."""
import json, time, urllib.error, urllib.request


def post(port, path, body, timeout=120):
    """POST `body` as JSON to 127.0.0.1:port; (status, parsed reply), error statuses included."""
    req = urllib.request.Request(f'http://127.0.0.1:{port}{path}', data=json.dumps(body).encode(), headers={'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b'{}')


def wait_healthy(port, proc, tries=300):
    """Polls /health every 0.1 s until it answers or `proc` (the server) has exited; True when it answered."""
    for _ in range(tries):
        try:
            urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=1)
            return True
        except Exception:
            if proc.poll() is not None:
                return False
            time.sleep(0.1)
    return False
