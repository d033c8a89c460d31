import type { SessionExpectations, StepExpectation } from './check.js';
import { BACKEND_CHOICES, type Backend } from './backends.js';
import { KvdiffError } from './errors.js';

/** Per-session engine settings a project may declare (each the same as the command-line option). */
export interface SessionEngineOptions {
  model?: string;
  backend?: Backend;
  gguf?: string;
  hf?: string;
  template?: string;
  templateName?: string;
  tokenizer?: string;
  date?: string;
  cacheReuse?: number;
}

/** One declaration: expectations plus engine settings; `sessions` only at the top of a file. */
export interface SessionConfig extends SessionExpectations, SessionEngineOptions {}

export interface ExpectationsFile extends SessionConfig {
  /** By session: a subfolder or file name beside `kvdiff.json`, or a path relative to the project config. */
  sessions?: Record<string, SessionConfig>;
}

const ENGINE_STRINGS = ['model', 'backend', 'gguf', 'hf', 'template', 'templateName', 'tokenizer', 'date'] as const;
const KNOWN = new Set<string>(['allow', 'minReuse', 'steps', 'cacheReuse', ...ENGINE_STRINGS]);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates a parsed `kvdiff.json` (or the `kvdiff` key of package.json); `label` names it in errors. */
export function parseExpectations(value: unknown, label: string): ExpectationsFile {
  if (!isObj(value)) throw bad(label, '', 'must be a JSON object');
  const top = sessionConfig(value, label, '', true);
  if (value.sessions === undefined) return top;
  if (!isObj(value.sessions)) throw bad(label, 'sessions', 'must be an object of session name → declarations');
  const sessions: Record<string, SessionConfig> = {};
  for (const [name, v] of Object.entries(value.sessions)) {
    if (!isObj(v)) throw bad(label, `sessions[${JSON.stringify(name)}]`, 'must be an object');
    sessions[name] = sessionConfig(v, label, `sessions[${JSON.stringify(name)}].`, false);
  }
  return { ...top, sessions };
}

function sessionConfig(v: Obj, label: string, at: string, top: boolean): SessionConfig {
  const out: SessionConfig = {};
  for (const key of Object.keys(v)) {
    if (!KNOWN.has(key) && !(top && key === 'sessions')) throw bad(label, at + key, `is not a known setting (known: ${[...KNOWN].join(', ')}${top ? ', sessions' : ''})`);
  }
  if (v.allow !== undefined) out.allow = codes(v.allow, label, `${at}allow`);
  if (v.minReuse !== undefined) {
    if (typeof v.minReuse !== 'number' || !(v.minReuse >= 0 && v.minReuse <= 1)) throw bad(label, `${at}minReuse`, 'must be a number from 0 to 1 (a share of the tokens)');
    out.minReuse = v.minReuse;
  }
  if (v.cacheReuse !== undefined) {
    if (!Number.isInteger(v.cacheReuse) || (v.cacheReuse as number) < 0) throw bad(label, `${at}cacheReuse`, 'must be a whole number');
    out.cacheReuse = v.cacheReuse as number;
  }
  for (const k of ENGINE_STRINGS) {
    if (v[k] === undefined) continue;
    if (typeof v[k] !== 'string') throw bad(label, at + k, 'must be a string');
    if (k === 'backend' && !BACKEND_CHOICES.includes(v[k] as Backend)) throw bad(label, at + k, `must be one of ${BACKEND_CHOICES.join(', ')}`);
    (out as Record<string, unknown>)[k] = v[k];
  }
  if (v.steps !== undefined) {
    if (!isObj(v.steps)) throw bad(label, `${at}steps`, 'must be an object of step → declaration ("3" or "0003.json")');
    out.steps = {};
    for (const [key, s] of Object.entries(v.steps)) out.steps[key] = step(s, label, `${at}steps[${JSON.stringify(key)}]`);
  }
  return out;
}

function step(v: unknown, label: string, at: string): StepExpectation {
  if (!isObj(v)) throw bad(label, at, 'must be an object such as {"expect": "break", "reason": "compaction"}');
  for (const key of Object.keys(v)) if (!['expect', 'reason', 'allow'].includes(key)) throw bad(label, `${at}.${key}`, 'is not a known step setting (expect, reason, allow)');
  const out: StepExpectation = {};
  if (v.expect !== undefined) {
    if (v.expect !== 'break') throw bad(label, `${at}.expect`, 'must be "break"');
    out.expect = 'break';
  }
  if (v.reason !== undefined) {
    if (typeof v.reason !== 'string') throw bad(label, `${at}.reason`, 'must be a string');
    out.reason = v.reason;
  }
  if (v.allow !== undefined) out.allow = codes(v.allow, label, `${at}.allow`);
  if (!out.expect && !out.allow) throw bad(label, at, 'declares nothing: give "expect": "break" (with a reason) or "allow": [codes]');
  return out;
}

function codes(v: unknown, label: string, at: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && /^[A-Z][A-Z0-9_]*$/.test(x))) throw bad(label, at, 'must be a list of finding codes such as ["TEMPLATE_REWRITES_HISTORY"]');
  return v as string[];
}

function bad(label: string, at: string, what: string): KvdiffError {
  return new KvdiffError(`${label}: ${at ? `${at} ` : ''}${what}`, 'see "Expectations" in the README section on kvdiff check');
}

/** Later declarations win; step declarations merge by key, allowed codes add up. */
export function mergeConfigs(...configs: (SessionConfig | undefined)[]): SessionConfig {
  const out: SessionConfig = {};
  for (const c of configs) {
    if (!c) continue;
    const { steps, allow, ...rest } = c;
    Object.assign(out, rest);
    if (allow) out.allow = [...(out.allow ?? []), ...allow];
    if (steps) out.steps = { ...(out.steps ?? {}), ...steps };
  }
  return out;
}
