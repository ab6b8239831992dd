import fc from 'fast-check';

/** The parts of an OpenAPI 3 document the request generator reads. */
export interface SchemaObject {
  $ref?: string;
  type?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  properties?: Record<string, SchemaObject>;
  required?: string[];
}
interface Parameter {
  in: 'query' | 'path' | 'header';
  name: string;
  schema: SchemaObject;
}
interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: SchemaObject }> };
}
export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, SchemaObject> };
}

/** One HTTP request, ready for supertest. A Buffer body is sent as its bytes. */
export interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

export interface OperationRef {
  method: string;
  path: string;
  operation: Operation;
}

export interface FuzzOptions {
  /** A key the service accepts. */
  apiKey: string;
  /** Fields whose valid values are fixed lists: `code` runs as Python, `webhook_url` must stay on loopback. */
  safeValues: Record<string, fc.Arbitrary<unknown>>;
}

export function operationsOf(document: OpenApiDocument): OperationRef[] {
  return Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.entries(operations).map(([method, operation]) => ({ method, path, operation })),
  );
}

/** `arbitrary`'s value in about `percent` % of the runs, else null. */
function sometimes<T>(arbitrary: fc.Arbitrary<T>, percent: number): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: percent, arbitrary }, { weight: 100 - percent, arbitrary: fc.constant(null) });
}

/** Any JSON value, small: what a wrongly typed field gets. */
const anyJson = fc.jsonValue({ maxDepth: 2 });

/** Strings that break naive parsers: percent signs, dots, NULs, very long ones. */
const hostileText = fc.oneof(
  fc.constantFrom('%', '%zz', '..', '%00', '\u0000', '-1', '1e400', 'NaN', '[]', '{}', 'null', ' '),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.nat({ max: 4_000 }).map((n) => 'x'.repeat(n)),
);

/** A value that fits the schema (most of the time), or `safeValues` for the fields named there. */
function validValue(schema: SchemaObject, name: string, options: FuzzOptions): fc.Arbitrary<unknown> {
  if (options.safeValues[name]) return options.safeValues[name];
  if (schema.enum) return fc.constantFrom(...schema.enum);
  switch (schema.type) {
    case 'number':
    case 'integer':
      return fc.oneof(
        {
          weight: 5,
          arbitrary: fc.integer({ min: Math.ceil(schema.minimum ?? -1e6), max: Math.floor(schema.maximum ?? 1e6) }),
        },
        { weight: 1, arbitrary: fc.double({ noNaN: true }) },
      );
    case 'boolean':
      return fc.boolean();
    case 'string':
      return fc.string({ maxLength: Math.min(schema.maxLength ?? 40, 40) });
    default:
      return anyJson;
  }
}

function resolve(document: OpenApiDocument, schema: SchemaObject): SchemaObject {
  return schema.$ref ? document.components.schemas[schema.$ref.split('/').pop() as string] : schema;
}

/** An object built from the schema: each field present or not, valid or wrongly typed; sometimes an unknown field. */
function schemaBody(document: OpenApiDocument, schema: SchemaObject, options: FuzzOptions): fc.Arbitrary<string> {
  const properties = Object.entries(resolve(document, schema).properties ?? {});
  const required = resolve(document, schema).required ?? [];
  const fields = properties.map(([name, property]) =>
    fc
      .oneof(
        { weight: 10, arbitrary: validValue(property, name, options) },
        { weight: 1, arbitrary: anyJson },
        {
          // A required field is rarely left out; a webhook_url (valid only on loopback, refused there) half the time.
          weight: required.includes(name) ? 1 : name in options.safeValues ? 20 : 6,
          arbitrary: fc.constant(undefined),
        },
      )
      .map((value) => [name, value] as const),
  );
  const extra = sometimes(fc.tuple(fc.string({ maxLength: 10 }), anyJson), 8);
  return fc.tuple(fc.tuple(...fields), extra).map(([pairs, unknown]) => {
    const body: Record<string, unknown> = {};
    for (const [name, value] of pairs) if (value !== undefined) body[name] = value;
    if (unknown) body[unknown[0]] = unknown[1];
    return JSON.stringify(body);
  });
}

/** Bodies no schema describes: any JSON, cut-off JSON, deep nesting, huge numbers, bytes that are not UTF-8. */
const rawBody: fc.Arbitrary<string | Buffer> = fc.oneof(
  fc.json({ maxDepth: 3 }),
  fc.json().map((text) => text.slice(0, Math.max(1, text.length - 1))),
  fc.integer({ min: 30, max: 100_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
  fc.integer({ min: 30, max: 5_000 }).map((n) => '{"code":'.repeat(n) + '1' + '}'.repeat(n)),
  fc.integer({ min: 300, max: 5_000 }).map((n) => `{"code":"1","timeout":${'9'.repeat(n)}}`),
  fc.constantFrom('{"code":"1","timeout":1e400}', '{"code":"1","timeout":-1e400}', 'null', '', '{'),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
);

function parameterValue(parameter: Parameter, options: FuzzOptions): fc.Arbitrary<string | undefined> {
  const valid = validValue(parameter.schema, parameter.name, options).map((v) =>
    typeof v === 'string' ? v : JSON.stringify(v),
  );
  return fc.oneof(
    { weight: 6, arbitrary: valid },
    { weight: 2, arbitrary: hostileText },
    { weight: parameter.in === 'path' ? 0 : 3, arbitrary: fc.constant(undefined) },
  );
}

/** Raw percent signs stay raw in a path or query (a malformed escape is part of what is fuzzed). */
const encode = (text: string) => (/^%/.test(text) ? text : encodeURIComponent(text));

const authHeaders = (apiKey: string): fc.Arbitrary<Record<string, string>> =>
  fc.oneof(
    { weight: 8, arbitrary: fc.constant({ 'x-api-key': apiKey }) },
    { weight: 2, arbitrary: fc.constant({ authorization: `Bearer ${apiKey}` }) },
    { weight: 1, arbitrary: fc.constant({}) },
    { weight: 1, arbitrary: fc.string({ maxLength: 20 }).map((k) => ({ 'x-api-key': k })) },
  );

const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'application/json; charset=UTF-8',
      'application/json; charset=latin1',
      'application/json; charset=utf-16le',
      'application/json; charset=',
      'application/json;;;',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ),
  },
);
const contentEncoding = sometimes(fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-unknown'), 8);
const bodyHeaders: fc.Arbitrary<Record<string, string>> = fc
  .tuple(contentType, contentEncoding)
  .map(([type, encoding]): Record<string, string> =>
    encoding ? { 'content-type': type, 'content-encoding': encoding } : { 'content-type': type },
  );

/** Requests for one operation: its declared method (sometimes another), parameters, headers and bodies. */
export function requestsFor(
  document: OpenApiDocument,
  ref: OperationRef,
  options: FuzzOptions,
): fc.Arbitrary<FuzzRequest> {
  const parameters = ref.operation.parameters ?? [];
  const values = fc.tuple(...parameters.map((p) => parameterValue(p, options)));
  const extraQuery = sometimes(fc.tuple(hostileText, hostileText), 10);
  const jsonSchema = ref.operation.requestBody?.content['application/json']?.schema;
  // An operation with a body gets one almost always; the others sometimes (which they must ignore or refuse).
  const body = sometimes(
    jsonSchema
      ? fc.oneof({ weight: 4, arbitrary: schemaBody(document, jsonSchema, options) }, { weight: 1, arbitrary: rawBody })
      : rawBody,
    jsonSchema ? 92 : 30,
  ).map((value) => value ?? undefined);
  const method = fc.oneof(
    { weight: 10, arbitrary: fc.constant(ref.method) },
    { weight: 1, arbitrary: fc.constantFrom('get', 'post', 'put', 'patch', 'delete') },
  );
  return fc
    .record({ method, values, extraQuery, body, auth: authHeaders(options.apiKey), headers: bodyHeaders })
    .map(({ method, values, extraQuery, body, auth, headers }) => {
      let path = ref.path;
      const query: string[] = [];
      const requestHeaders: Record<string, string> = { ...auth };
      parameters.forEach((parameter, i) => {
        const value = values[i];
        if (value === undefined) return;
        if (parameter.in === 'path') path = path.replace(`{${parameter.name}}`, encode(value) || '%20');
        else if (parameter.in === 'query') query.push(`${parameter.name}=${encode(value)}`);
        else requestHeaders[parameter.name] = value.replace(/[^\x20-\x7e]/g, '?');
      });
      if (extraQuery) query.push(`${encode(extraQuery[0])}=${encode(extraQuery[1])}`);
      return {
        method,
        url: query.length ? `${path}?${query.join('&')}` : path,
        headers: body === undefined ? requestHeaders : { ...requestHeaders, ...headers },
        body,
      };
    });
}
