import * as jinja from '@huggingface/jinja';
import { KvdiffError } from '../errors.js';

/**
 * kvdiff's llama.cpp layer replaces private methods of @huggingface/jinja's Interpreter and reaches classes the
 * package does not export. package.json pins the version; this check runs at start-up so that an upgrade that
 * renames or removes one of them fails loudly instead of silently rendering differently.
 */

/** The Interpreter methods compat.ts overrides or calls on the base prototype. */
export const PATCHED_INTERPRETER_METHODS = [
  'run', 'evaluate', 'evaluateBlock', 'evaluateIdentifier', 'evaluateMemberExpression', 'evaluateSliceExpression',
  'evaluateBinaryExpression', 'evaluateFor', 'evaluateArguments', 'applyFilter',
] as const;

/** The module exports kvdiff uses (parse.ts tokenizes and parses itself, to accept tests with arguments). */
export const USED_EXPORTS = ['Environment', 'Interpreter', 'tokenize', 'parse'] as const;

/** What is missing from the installed @huggingface/jinja, as readable names (empty when all is there). */
export function missingJinjaMembers(mod: Record<string, unknown> = jinja as unknown as Record<string, unknown>): string[] {
  const missing: string[] = [];
  for (const name of USED_EXPORTS) if (typeof mod[name] !== 'function') missing.push(`export ${name}`);
  const proto = (mod.Interpreter as { prototype?: Record<string, unknown> } | undefined)?.prototype ?? {};
  for (const name of PATCHED_INTERPRETER_METHODS) if (typeof proto[name] !== 'function') missing.push(`Interpreter.prototype.${name}`);
  return missing;
}

export function assertJinjaInternals(mod?: Record<string, unknown>): void {
  const missing = missingJinjaMembers(mod);
  if (missing.length) {
    throw new KvdiffError(
      `the installed @huggingface/jinja lacks what kvdiff's llama.cpp template layer patches (${missing.join(', ')}); ` +
      'install the version pinned in package.json (npm ci)',
    );
  }
}
