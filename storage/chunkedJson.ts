/**
 * JSON values larger than one Table property. A string property holds at most 64 KiB (32K
 * UTF-16 code units) and a whole entity at most 1 MiB, so a value is split across numbered
 * properties (`c0`, `c1`, ...) with their count in `chunks`.
 *
 * The JSON is stored as ASCII (non-ASCII escaped as \u sequences) so that no chunk edge or
 * transport can split a multi-byte character; Azurite mangles large multi-byte bodies.
 */
export const CHUNK_CHARS = 30_000;

export interface Chunked {
  chunks: number;
  [chunk: `c${number}`]: string;
}

/** The value as ASCII JSON: its length is what counts against the limits. */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function toChunks(json: string): Chunked {
  const chunked: Chunked = { chunks: 0 };
  for (let offset = 0; offset < json.length || chunked.chunks === 0; offset += CHUNK_CHARS) {
    chunked[`c${chunked.chunks}`] = json.slice(offset, offset + CHUNK_CHARS);
    chunked.chunks += 1;
  }
  return chunked;
}

export function fromChunks(entity: Partial<Chunked>): string {
  let json = '';
  for (let index = 0; index < (entity.chunks ?? 0); index += 1) json += entity[`c${index}`] ?? '';
  return json;
}
