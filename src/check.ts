import { analyzeAhead, type DiffReport } from './analyze.js';
import type { FindingCode } from './attribute/attribute.js';
import { KvdiffError } from './errors.js';
import type { Processor } from './processor.js';
import type { RequestBody } from './payload/body.js';

/** One request against the one before it. */
export interface CheckStep {
  report: DiffReport;
  /** Reuses all of the previous request, or breaks only for allowed codes. */
  ok: boolean;
}

export interface CheckResult {
  steps: CheckStep[];
  /** Steps that are not ok. */
  breaks: number;
}

/**
 * `kvdiff check`: every request of a recorded sequence must reuse all of the one before it; a break whose every
 * breaking cause has an allowed code (one the client cannot fix) passes.
 */
export async function checkSequence(processor: Processor, bodies: readonly RequestBody[], allow: Iterable<FindingCode | string> = []): Promise<CheckResult> {
  if (bodies.length < 2) throw new KvdiffError(`check needs at least two requests, found ${bodies.length}`, 'pass the requests of one session in the order they were sent');
  const allowed = new Set<string>(allow);
  const steps: CheckStep[] = [];
  for (let i = 1; i < bodies.length; i++) {
    const report = await analyzeAhead(processor, bodies[i - 1], bodies[i]);
    const breaking = report.causes.filter((f) => f.breaks);
    const ok = report.reusesAll || (breaking.length > 0 && breaking.every((f) => allowed.has(f.code)));
    steps.push({ report, ok });
  }
  return { steps, breaks: steps.filter((s) => !s.ok).length };
}
