import { charsetOf, checkRawJsonBody, isUtf8Charset, jsonNestingDepth, MAX_JSON_DEPTH } from './json-body.checks';

const nested = (levels: number, open = '[', close = ']') => open.repeat(levels) + close.repeat(levels);

describe('jsonNestingDepth', () => {
  it.each<[string, number]>([
    ['{}', 1],
    ['{"a":[1,{"b":[]}]}', 4],
    ['"[[[[{{{"', 0],
    ['{"a":"\\"[[[["}', 1],
    ['{"a":"\\\\","b":[[]]}', 3],
    ['12', 0],
  ])('%s → %d', (json, depth) => {
    expect(jsonNestingDepth(Buffer.from(json))).toBe(depth);
  });

  it('walks 100,000 levels without recursion and stops counting past the limit', () => {
    expect(jsonNestingDepth(Buffer.from(nested(100_000)))).toBe(100_000);
    expect(jsonNestingDepth(Buffer.from(nested(100_000, '{"a":', '}')), 10)).toBe(11);
  });
});

describe('checkRawJsonBody', () => {
  it('accepts UTF-8 JSON up to the depth limit', () => {
    expect(() =>
      checkRawJsonBody(Buffer.from(`{"code":"héllo ✓ 😀","x":${nested(MAX_JSON_DEPTH - 1)}}`)),
    ).not.toThrow();
  });

  it.each<[string, Buffer, string]>([
    ['one level too deep', Buffer.from(nested(MAX_JSON_DEPTH + 1)), 'entity.too.deep'],
    ['5,000 levels', Buffer.from(nested(5000)), 'entity.too.deep'],
    [
      'a lone continuation byte',
      Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0x80, 0x22, 0x7d]),
      'entity.encoding.invalid',
    ],
    ['an overlong encoding', Buffer.from([0x22, 0xc0, 0xaf, 0x22]), 'entity.encoding.invalid'],
    ['a UTF-16 surrogate in UTF-8', Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]), 'entity.encoding.invalid'],
  ])('refuses %s', (_label, raw, type) => {
    expect(() => checkRawJsonBody(raw)).toThrow(expect.objectContaining({ type }));
  });
});

describe('charsetOf / isUtf8Charset', () => {
  it.each<[string, string | undefined, boolean]>([
    ['application/json', undefined, true],
    ['application/json; charset=utf-8', 'utf-8', true],
    ['application/json;charset="UTF-8"', 'utf-8', true],
    ['application/json; charset=utf8', 'utf8', true],
    ['application/json; charset=utf-16le', 'utf-16le', false],
    ['application/json; charset=latin1; x=y', 'latin1', false],
    ['application/json; charset=', '', false],
  ])('%s → %s', (contentType, charset, accepted) => {
    expect(charsetOf(contentType)).toBe(charset);
    expect(isUtf8Charset(charsetOf(contentType))).toBe(accepted);
  });
});
