import { parse, tokenize } from '@huggingface/jinja';
import { TEST_CALL_FILTER } from './compat.js';

/** A token as @huggingface/jinja's lexer makes it. */
interface Token { value: string; type: string }

/**
 * Parses a template as `new Template(source)` does (lstrip_blocks and trim_blocks on, as transformers and
 * llama.cpp set them), with one extension @huggingface/jinja's parser lacks: tests with arguments
 * (`x is divisibleby(3)`, `x is not in(list)`, `x is eq(1)`), which llama.cpp and Jinja2 accept. They become a
 * call of the internal filter `TEST_CALL_FILTER<name>` (filters and tests bind alike in Jinja2), which the
 * llama.cpp interpreter runs as the test.
 */
export function parseTemplate(source: string): unknown {
  const tokens = tokenize(generationAsNoop(source), { lstrip_blocks: true, trim_blocks: true }) as unknown as Token[];
  return parse(rewriteTestCalls(tokens) as never);
}

/** `{% generation %}` / `{% endgeneration %}` (transformers' training markers), with their whitespace control. */
const GENERATION_TAG = /\{%(-?)\s*(?:end)?generation\s*(-?)%\}/g;

/**
 * llama.cpp parses `{% generation %}` and `{% endgeneration %}` as statements that do nothing: block tags, so
 * lstrip_blocks, trim_blocks and `-` act around them as around any block, and the text between them stays (a newline
 * after an expression, before `{% endgeneration %}`, is printed). @huggingface/jinja's preprocess instead deletes the
 * tags with the whitespace next to them, so that newline is lost. A `set` of an unused name is a block that does
 * nothing too, whatever tags surround it (the two markers need not pair up).
 */
export function generationAsNoop(source: string): string {
  return source.replace(GENERATION_TAG, (_m, lstrip: string, rstrip: string) => `{%${lstrip} set __kvdiff_generation_marker = none ${rstrip}%}`);
}

const WORD = /^[A-Za-z_]\w*$/;

export function rewriteTestCalls(tokens: Token[]): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.type === 'Identifier' && t.value === 'is') {
      const negate = tokens[i + 1]?.type === 'Identifier' && tokens[i + 1].value === 'not';
      const name = tokens[i + (negate ? 2 : 1)];
      const open = tokens[i + (negate ? 3 : 2)];
      if (name && WORD.test(name.value) && open?.type === 'OpenParen') {
        out.push({ value: '|', type: 'Pipe' }, { value: `${TEST_CALL_FILTER}${negate ? 'not_' : ''}${name.value}`, type: 'Identifier' });
        i += negate ? 2 : 1;
        continue;
      }
    }
    out.push(t);
  }
  return out;
}
