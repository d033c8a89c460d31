import { KvdiffError } from '../errors.js';

/** llama-server answers the request with an error (400) instead of a completion: kvdiff exits 2 with its reason. */
export function refuse(label: string, reason: string): never {
  throw new KvdiffError(`llama-server would refuse ${label}: ${reason}`);
}
