/** A JSON path as segments: object keys and array indices. */
export type PathSeg = string | number;
export type JsonPath = readonly PathSeg[];

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `$.messages[3].tool_calls[0].call_id`, `$.tools[0].function["x-y"]`. */
export function formatPath(path: JsonPath): string {
  let out = '$';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (IDENT.test(seg)) out += `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}
