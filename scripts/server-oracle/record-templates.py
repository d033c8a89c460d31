#!/usr/bin/env python3
"""Record llama-server's own renders of chat templates as test data (test/server-oracle/heldout/).

For each template: start llama-server on 127.0.0.1 with the template and a tiny GGUF, read /props (the caps it
detected), POST every body to /apply-template and keep {id, status, prompt | error}; with -v, also keep the reasoning
markers its differential template analysis logged (absent for formats llama.cpp knows by name). A template the server
refuses at start-up is recorded with load_error and every body refused (status 0). Bodies that end
with an assistant message (continued by the server) are skipped unless --continued, which keeps only those.

  scripts/server-oracle/record-templates.py --server BUILD/bin/llama-server --commit HASH \
      --model tiny-qwen3.gguf --bodies test/server-oracle/heldout/bodies.json --out test/server-oracle/heldout T1.jinja T2.jinja ...
"""
import argparse, json, os, re, subprocess, sys, tempfile, time, urllib.request
from server import post, wait_healthy


def markers(log):
    m = re.search(r"reasoning_mode: (\w+)\n.*?reasoning_start: '(.*?)'\n[^\n]*?reasoning_end: '(.*?)'\n[^\n]*?content_mode", log, re.S)
    return None if not m else {'mode': m.group(1), 'start': m.group(2), 'end': m.group(3)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--server', required=True)
    ap.add_argument('--model', required=True)
    ap.add_argument('--commit', required=True)
    ap.add_argument('--bodies', required=True, help='JSON list of {id, request}')
    ap.add_argument('--out', required=True)
    ap.add_argument('--port', type=int, default=18320)
    ap.add_argument('--source-root', default='', help='strip this from template paths when recording where they came from')
    ap.add_argument('--continued', action='store_true', help='record only the bodies that end with an assistant message')
    ap.add_argument('templates', nargs='+')
    a = ap.parse_args()
    bodies = json.load(open(a.bodies))
    bodies = bodies['bodies'] if isinstance(bodies, dict) else bodies
    bodies = [b for b in bodies if (bool(b['request']['messages']) and b['request']['messages'][-1]['role'] == 'assistant') == a.continued]
    os.makedirs(a.out, exist_ok=True)
    args = ['-m', os.path.basename(a.model), '--jinja', '--chat-template-file', '<template>.jinja', '-np', '1', '-c', '8192', '--cache-ram', '0']
    for path in a.templates:
        name = os.path.basename(path)[:-len('.jinja')]
        with tempfile.NamedTemporaryFile('w+', suffix='.log', delete=False) as logf:
            proc = subprocess.Popen([a.server, '-m', a.model, '--jinja', '--chat-template-file', path, '-np', '1', '-c', '8192', '--cache-ram', '0',
                                     '--host', '127.0.0.1', '--port', str(a.port), '-v', '--log-colors', 'off'], stdout=logf, stderr=subprocess.STDOUT)
            try:
                load_error = None
                if wait_healthy(a.port, proc):
                    props = json.load(urllib.request.urlopen(f'http://127.0.0.1:{a.port}/props'))
                else:
                    # the server refused the template at start-up (common_chat_verify_template): every body is refused
                    logf.flush()
                    text = open(logf.name, encoding='utf8', errors='replace').read()
                    m = re.search(r'common_chat_templates_init: error: (.*)', text) or re.search(r'failed to apply template: (.*)', text)
                    load_error = m.group(1) if m else text.strip().splitlines()[-1]
                    props = {}
                results = [] if load_error is None else [{'id': b['id'], 'status': 0, 'error': {'message': 'template not supported at start-up: ' + load_error}} for b in bodies]
                for b in bodies if load_error is None else []:
                    status, res = post(a.port, '/apply-template', b['request'])
                    r = {'id': b['id'], 'status': status}
                    if status == 200:
                        r['prompt'] = res['prompt']
                    else:
                        r['error'] = res.get('error', res)
                    results.append(r)
            finally:
                proc.terminate()
                proc.wait()
            log = open(logf.name, encoding='utf8', errors='replace').read()
            os.unlink(logf.name)
        out = {
            'template_name': name,
            'template_source': os.path.relpath(path, a.source_root) if a.source_root else path,
            'recorded': {'llama_cpp_commit': a.commit, 'date': time.strftime('%Y-%m-%d', time.gmtime()), 'server_args': args, 'endpoint': 'POST /apply-template'},
            'caps': props.get('chat_template_caps'),
            **({'load_error': load_error} if load_error else {}),
            'reasoning_markers': markers(log),
            'template': open(path, encoding='utf8', newline='').read(),
            'results': results,
        }
        with open(os.path.join(a.out, name + '.json'), 'w', encoding='utf8') as f:
            json.dump(out, f, ensure_ascii=False, indent=1)
            f.write('\n')
        ok = sum(r['status'] == 200 for r in results)
        print(f'{name}: {ok}/{len(results)} rendered, markers {out["reasoning_markers"]}', flush=True)


if __name__ == '__main__':
    main()
