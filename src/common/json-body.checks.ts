import { isUtf8 } from 'node:buffer';

/** No body this API takes nests deeper than a few levels; anything past this is refused before parsing. */
export const MAX_JSON_DEPTH = 32;

const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** A body refused before JSON.parse; `type` is what JsonBodyMiddleware maps to a status. */
export class BodyCheckError extends Error {
  constructor(
    readonly type: 'entity.too.deep' | 'entity.encoding.invalid',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The deepest nesting of `[`/`{` outside strings, in one pass over the raw bytes (no recursion, so
 * a 100,000-level body costs a loop, not a stack). Stops counting once past `limit`.
 */
export function jsonNestingDepth(raw: Uint8Array, limit = Infinity): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      depth--;
    }
  }
  return deepest;
}

/** body-parser's `verify` hook: runs on the raw bytes before they are decoded and parsed. */
export function checkRawJsonBody(raw: Buffer): void {
  if (!isUtf8(raw)) throw new BodyCheckError('entity.encoding.invalid', 'body: not valid UTF-8');
  if (jsonNestingDepth(raw, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw new BodyCheckError('entity.too.deep', `body: nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
}

/** The `charset` parameter of a Content-Type, lower-cased, or undefined when there is none. */
export function charsetOf(contentType: string): string | undefined {
  const match = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType);
  return match ? (match[1] ?? match[2]).toLowerCase() : undefined;
}

/** API.md "Request encoding": JSON in UTF-8 only (`utf8` is the same encoding's other common spelling). */
export function isUtf8Charset(charset: string | undefined): boolean {
  return charset === undefined || charset === 'utf-8' || charset === 'utf8';
}
