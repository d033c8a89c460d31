#!/usr/bin/env python3
"""Record llama-server's prompt-cache reuse for request pairs (test/server-oracle/pairs/).

Starts llama-server on 127.0.0.1 (one slot, no RAM cache, so B can only reuse what A left in the slot) with the
given template and tiny GGUF; for each pair {name, description, a, b}: the renders (/apply-template), the tokens
(/tokenize with add_special and parse_special, as the chat endpoint tokenizes), then /v1/chat/completions with A and
with B (max_tokens 1, temperature 0) and B's timings: cache_n is the number of A's tokens the server reused.

  scripts/server-oracle/record-pairs.py --server BUILD/bin/llama-server --commit HASH --model tiny-qwen3.gguf \
      --template models/templates/openai-gpt-oss-120b.jinja --pairs pairs.json --out test/server-oracle/pairs/gpt-oss.json
"""
import argparse, json, os, re, subprocess, tempfile, time, urllib.request
from server import post, wait_healthy


def main():
    ap = argparse.ArgumentParser()
    for k in ('--server', '--model', '--commit', '--template', '--pairs', '--out'):
        ap.add_argument(k, required=True)
    ap.add_argument('--port', type=int, default=18330)
    ap.add_argument('--source-root', default='')
    a = ap.parse_args()
    pairs = json.load(open(a.pairs))
    args = ['-m', os.path.basename(a.model), '--jinja', '--chat-template-file', os.path.basename(a.template), '-np', '1', '-c', '8192', '--cache-ram', '0']
    logf = tempfile.NamedTemporaryFile('w+', suffix='.log', delete=False)
    proc = subprocess.Popen([a.server, '-m', a.model, '--jinja', '--chat-template-file', a.template, '-np', '1', '-c', '8192', '--cache-ram', '0',
                             '--host', '127.0.0.1', '--port', str(a.port), '-lv', '4', '--log-colors', 'off'], stdout=logf, stderr=subprocess.STDOUT)
    log = lambda: open(logf.name, encoding='utf8', errors='replace').read()
    out = []
    caps = None
    try:
        wait_healthy(a.port, proc)
        caps = json.load(urllib.request.urlopen(f'http://127.0.0.1:{a.port}/props'))['chat_template_caps']
        for p in pairs:
            rec = {'name': p['name'], 'description': p['description'], 'request_a': p['a'], 'request_b': p['b']}
            for side in ('a', 'b'):
                _, r = post(a.port, '/apply-template', p[side])
                rec[f'rendered_{side}'] = r['prompt']
                _, t = post(a.port, '/tokenize', {'content': r['prompt'], 'add_special': True, 'parse_special': True})
                rec[f'n_tokens_{side}'] = len(t['tokens'])
            for side in ('a', 'b'):
                start = len(log())
                status, r = post(a.port, '/v1/chat/completions', {**p[side], 'max_tokens': 1, 'temperature': 0, 'cache_prompt': True})
                time.sleep(0.2)
                lines = log()[start:]
                m = re.search(r'new prompt, .*task\.n_tokens = (\d+)\n(?:.*\n)*?.*cached n_tokens = (\d+)', lines)
                assert m, lines
                rec[f'status_{side}'] = status
                rec[f'log_{side}'] = [l for l in lines.splitlines() if 'new prompt' in l or 'n_past' in l or 'cached n_tokens' in l]
                rec[f'server_n_tokens_{side}'] = int(m.group(1))
                if side == 'b':
                    rec['n_past'] = int(m.group(2))
            assert rec['server_n_tokens_a'] == rec['n_tokens_a'] and rec['server_n_tokens_b'] == rec['n_tokens_b'], rec
            out.append(rec)
            print(p['name'], 'tokens', rec['n_tokens_a'], '->', rec['n_tokens_b'], 'n_past', rec['n_past'], flush=True)
    finally:
        proc.terminate()
        proc.wait()
        os.unlink(logf.name)
    doc = {
        'description': 'request pairs (turn N, turn N+1 of an agent loop) sent one after the other to one llama-server slot; n_past is what the server reused of A for B (its log line `cached n_tokens = N`)',
        'recorded': {'llama_cpp_commit': a.commit, 'date': time.strftime('%Y-%m-%d', time.gmtime()), 'server_args': args,
                     'endpoints': ['POST /apply-template', 'POST /tokenize', 'POST /v1/chat/completions (max_tokens 1, temperature 0)'], 'log_level': '-lv 4'},
        'template_source': os.path.relpath(a.template, a.source_root) if a.source_root else a.template,
        'caps': caps,
        'template': open(a.template, encoding='utf8', newline='').read(),
        'pairs': out,
    }
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, 'w', encoding='utf8') as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
