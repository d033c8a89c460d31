import { attribute, plan, type Finding } from './attribute/attribute.js';
import { annotateDialect } from './dialect/notes.js';
import { toChat } from './dialect/index.js';
import { checkpointStarts, userMessagePrefixes, usesCheckpoints } from './cache.js';
import { comparePrompts, type Comparison } from './compare.js';
import { encodesReplies, type Processed, type Processor } from './processor.js';
import { KvdiffError } from './errors.js';
import { slotAfter, type SlotContents } from './slot.js';
import type { GeneratedResponse } from './payload/response.js';
import type { Backend } from './backends.js';
import type { ModelSourceInfo } from './model/types.js';
import type { RequestBody } from './payload/body.js';

/** Everything a reporter needs; findings are data, reporters only format them. */
export interface DiffReport {
  schemaVersion: 1;
  model: ModelSourceInfo;
  backend: Backend;
  /** The date templates saw (`YYYY-MM-DD`). */
  date: string;
  a: { label: string; rendered: string; ids: number[]; starts: number[] };
  b: { label: string; rendered: string; ids: number[]; starts: number[] };
  comparison: Comparison;
  /** True when B reuses every token of A's prompt (exit 0). */
  reusesAll: boolean;
  causes: Finding[];
  ignored: Finding[];
  growth: Finding[];
  /** Display text of a token id. */
  piece(id: number): string;
  /** What a server log said for B, when `--log` was given. */
  logged?: LoggedReuse;
  /** The slot after A's reply, when `--response` was given. */
  slot?: SlotContents;
}

/** The n_past a server log recorded, beside the prediction. */
export interface LoggedReuse {
  file: string;
  task: number | null;
  slot: number | null;
  /** n_past the server finally used (null when the log has no request with it). */
  reused: number | null;
  promptTokens: number | null;
  agrees: boolean;
}

/** Renders, tokenizes and compares A and B, then tests each JSON difference as a cause. */
export function analyze(engine: Processor, a: RequestBody, b: RequestBody, opts: { response?: GeneratedResponse } = {}): DiffReport {
  const pa = engine.process(a, `A (${a.label})`);
  const pb = engine.process(b, `B (${b.label})`);
  let slot: SlotContents | undefined;
  if (opts.response) {
    if (!encodesReplies(engine)) throw new KvdiffError('--response needs kvdiff to tokenize (it cannot be combined with --server)');
    // the reply is appended to the chat-completions body the server built (other dialects converted first)
    slot = slotAfter(engine, toChat(a, engine.backend), pa, opts.response);
  }
  const starts = checkpointStarts(engine, a, pa);
  const comparison = comparePrompts(pa.rendered, pa.tokens, pb.rendered, pb.tokens, engine.cache, starts, slot?.ids);
  // rendered prompt files carry no JSON to attribute to: the divergence text and tokens only
  const textOnly = a.api === 'prompt' || b.api === 'prompt';
  const attribution = textOnly ? { causes: [], ignored: [], growth: [] } : attribute(engine, a, b, pa, pb, comparison);
  annotateDialect(engine, a, b, attribution);
  const { causes, ignored, growth } = attribution;
  return {
    schemaVersion: 1,
    model: engine.source,
    backend: engine.backend,
    date: engine.now.toISOString().slice(0, 10),
    a: side(a, pa),
    b: side(b, pb),
    comparison,
    reusesAll: comparison.firstDivergence === null,
    causes,
    ignored,
    growth,
    piece: (id) => engine.piece(id),
    ...(slot ? { slot } : {}),
  };
}

function side(body: RequestBody, p: Processed) {
  return { label: body.label, rendered: p.rendered, ids: p.tokens.ids, starts: p.tokens.starts };
}

/** `analyze`, after sending A, B and every what-if variant to a processor that must see them ahead (a live server). */
export async function analyzeAhead(engine: Processor, a: RequestBody, b: RequestBody, opts: { response?: GeneratedResponse } = {}): Promise<DiffReport> {
  const textOnly = a.api === 'prompt' || b.api === 'prompt';
  // the renders of A's message prefixes give its user-message starts, where an SWA model keeps checkpoints
  const prefixes = usesCheckpoints(engine.cache) ? userMessagePrefixes(a, engine.backend).filter((x) => x !== null) : [];
  if (engine.prefetch) await engine.prefetch([a, b, ...prefixes, ...(textOnly ? [] : plan(a, b).flatMap((g) => [g.body, ...g.members.map((m) => m.body)]))]);
  return analyze(engine, a, b, opts);
}
