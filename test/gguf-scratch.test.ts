import { test } from 'vitest';
import { readGgufHeader, meta } from '../src/model/gguf.ts';
import { nodeFs } from '../src/cli/node-fs.ts';
test('x', async () => {
    const h = await readGgufHeader(nodeFs, `/work/shared/models/tiny-gemma3.gguf`);
    const toks = meta.strings(h.metadata, 'tokenizer.ggml.tokens')!;
    const types = meta.numbers(h.metadata, 'tokenizer.ggml.token_type')!;
    const scores = meta.numbers(h.metadata, 'tokenizer.ggml.scores')!;
    let min = 0, max = -1e9; const cnt = new Map<number, number[]>();
    for (let i = 0; i < toks.length; i++) { if (types[i] !== 1) continue; const s = scores[i]; min = Math.min(min, s); max = Math.max(max, s); const a = cnt.get(s) ?? []; a.push(i); cnt.set(s, a); }
    console.log('normal min', min, 'max', max, 'distinct', cnt.size);
    const dups = [...cnt].filter(([, a]) => a.length > 1);
    console.log('dup score groups', dups.length, dups.slice(0, 10).map(([s, a]) => `${s}: ${a.length} ${a.slice(0, 8).map((i) => JSON.stringify(toks[i])).join(' ')}`).join('\n'));
    // multi-codepoint normal tokens with score 0
    const z = []; for (let i = 0; i < toks.length; i++) if (types[i] === 1 && scores[i] === 0 && [...toks[i]].length > 1) z.push(toks[i]);
    console.log('multi-char score0', z.length, z.slice(0, 30).map((t) => JSON.stringify(t)).join(' '));
    const ws = []; for (let i = 0; i < toks.length; i++) if (/^[\s▁]+$/.test(toks[i])) ws.push(`${i}:${JSON.stringify(toks[i])}:t${types[i]}@${scores[i]}`);
    console.log('ws tokens', ws.length, ws.slice(0, 80).join(' '));
    const ud = []; for (let i = 0; i < toks.length; i++) if (types[i] === 4 && !/^<unused\d+>$/.test(toks[i])) ud.push(`${i}:${JSON.stringify(toks[i])}`);
    console.log('user-defined non-unused', ud.length, ud.slice(0, 200).join(' '));
    console.log('scores int?', Array.from(scores).every(Number.isInteger));
});
