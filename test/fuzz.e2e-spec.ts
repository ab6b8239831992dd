import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FuzzRequest, OpenApiDocument, operationsOf, requestsFor } from './support/openapi-requests';
import { KEY, startTestApp, TestApp } from './utils';

const document = JSON.parse(readFileSync(join(__dirname, '..', 'openapi', 'openapi.json'), 'utf8')) as OpenApiDocument;

/** Runs per operation: modest in `npm test`; `npm run fuzz -- --runs N` sets FUZZ_RUNS for long passes. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

/** superagent's serializer type says string; a Buffer is sent as it is. */
const sendBytesAsIs = ((bytes: Buffer) => bytes) as unknown as (body: unknown) => string;

const safeValues = {
  // Python that ends at once, whatever it does; a repeat of the same few keeps the sandbox's work small.
  code: fc.oneof(
    fc.constantFrom('1', 'print("hi")', '1/0', 'import sys; sys.exit(3)', 'return {"a": [1, 2]}', 'x = input()', ' '),
    fc.string({ maxLength: 20 }),
  ),
  // Only loopback (WEBHOOK_ALLOW_PRIVATE is off, so even these are refused) or strings that are no http(s) URL.
  webhook_url: fc.oneof(
    fc.constantFrom('http://127.0.0.1:9/hook', 'https://[::1]:9/x', 'ftp://127.0.0.1/', 'http://', 'nope', ''),
    fc.string({ maxLength: 30 }).filter((s) => !/^\s*https?:/i.test(s)),
  ),
};

describe('fuzz: requests generated from openapi/openapi.json never get a 5xx', () => {
  let t: TestApp;
  /** How often each status answered, over every operation: shows the requests reach the handlers. */
  const statuses = new Map<string, number>();
  const count = (key: string) => statuses.set(key, (statuses.get(key) ?? 0) + 1);
  beforeAll(async () => {
    t = await startTestApp({ SANDBOX_SERVERS: '2', DEFAULT_TIMEOUT: '5', MAX_TIMEOUT: '5' });
  });
  afterAll(async () => {
    if (process.env.FUZZ_RUNS)
      console.log(`fuzz: ${RUNS} runs per operation; statuses ${JSON.stringify([...statuses].sort())}`);
    await t.close();
  });

  const send = async (request: FuzzRequest) => {
    let req = t.http[request.method as 'get'](request.url);
    for (const [name, value] of Object.entries(request.headers)) req = req.set(name, value);
    if (request.body === undefined) return req;
    return typeof request.body === 'string' ? req.send(request.body) : req.serialize(sendBytesAsIs).send(request.body);
  };

  const operations = operationsOf(document);

  it('covers every operation of the document', () => {
    expect(operations.map((o) => o.operation.operationId).sort()).toEqual(
      Object.values(document.paths)
        .flatMap((ops) => Object.values(ops).map((op) => op.operationId))
        .sort(),
    );
  });

  it.each(operations.map((o) => [o.operation.operationId, o] as const))(
    '%s',
    async (_id, ref) => {
      const requests = requestsFor(document, ref, { apiKey: KEY, safeValues });
      await fc.assert(
        fc.asyncProperty(requests, async (request) => {
          const res = await send(request);
          count(String(res.status));
          count(`${ref.operation.operationId} ${res.status}`);
          if (/^(executePython|editorExecute)$/.test(ref.operation.operationId) && res.status < 300)
            count('execute 2xx');
          if (res.status >= 500) {
            throw new Error(
              `${res.status} for ${request.method.toUpperCase()} ${request.url}: ${res.text.slice(0, 300)}`,
            );
          }
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
    },
    Math.max(60_000, RUNS * 1_000),
  );

  it('the generated requests got past auth, body parsing and validation, and were refused at each', () => {
    for (const status of ['200', '400', '401', '404', '415', 'execute 2xx']) {
      expect([status, statuses.get(status)]).toEqual([status, expect.any(Number)]);
    }
  });
});
