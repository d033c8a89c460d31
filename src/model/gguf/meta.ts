/**
 * Typed access to GGUF metadata values, with one-line errors naming the key when a value has another type.
 */
import { KvdiffError } from '../../errors.js';
import { GgufType, quote } from './bytes.js';
import type { GgufValue } from './header.js';

/** Typed access to metadata values; each returns undefined when the key is absent and throws when it has another type. */
export const meta = {
  string(m: Map<string, GgufValue>, key: string): string | undefined {
    const v = m.get(key);
    if (v === undefined || typeof v === 'string') return v;
    throw wrongType(key, 'a string', v);
  },
  number(m: Map<string, GgufValue>, key: string): number | undefined {
    const v = m.get(key);
    if (v === undefined || typeof v === 'number') return v;
    if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
    throw wrongType(key, 'a number', v);
  },
  bool(m: Map<string, GgufValue>, key: string): boolean | undefined {
    const v = m.get(key);
    if (v === undefined || typeof v === 'boolean') return v;
    throw wrongType(key, 'a boolean', v);
  },
  strings(m: Map<string, GgufValue>, key: string): readonly string[] | undefined {
    const v = m.get(key);
    if (v === undefined) return v;
    if (typeof v === 'object' && v.elementType === GgufType.STRING) return v.values as readonly string[];
    throw wrongType(key, 'an array of strings', v);
  },
  numbers(m: Map<string, GgufValue>, key: string): ArrayLike<number> | undefined {
    const v = m.get(key);
    if (v === undefined) return v;
    if (typeof v === 'object' && ArrayBuffer.isView(v.values) && !(v.values instanceof BigInt64Array || v.values instanceof BigUint64Array)) {
      return v.values as ArrayLike<number>;
    }
    throw wrongType(key, 'an array of numbers', v);
  },
};

function describe(v: GgufValue): string {
  if (typeof v !== 'object') return typeof v;
  const name = Object.entries(GgufType).find(([, t]) => t === v.elementType)?.[0].toLowerCase() ?? '?';
  return `an array of ${name}`;
}

function wrongType(key: string, want: string, v: GgufValue): KvdiffError {
  return new KvdiffError(`GGUF key ${quote(key)} should be ${want}, but is ${describe(v)}`);
}
