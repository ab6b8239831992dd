import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openApiPath } from '../src/openapi';
import { KEY, sleep, startTestApp, TestApp } from './utils';
import { WebhookReceiver } from './webhook-receiver';

const root = join(__dirname, '..');

/** What every generated SDK function returns (client-fetch, throwOnError false). */
interface SdkResult {
  data?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  error?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  response: Response;
}
type SdkFunction = (options?: Record<string, unknown>) => Promise<SdkResult>;
type Sdk = Record<string, SdkFunction> & {
  client: { setConfig(config: { baseUrl: string; auth: () => string }): void };
};

const typedUsage = `
import { cancelJob, editorExecute, executePython, getJob, getRuntime, listJobs } from './index';
import type { ErrorCode, ExecuteSuccessEnvelopeDto, ResourceLimit } from './index';
export async function use(): Promise<void> {
  const { data, error } = await executePython({ body: { code: 'print(1)', timeout: 10, id: 'x', stdin: '', async: false } });
  // 200 and 202 share one data type; a synchronous caller knows it got the 200 body.
  const stdout: string | undefined = (data as ExecuteSuccessEnvelopeDto | undefined)?.response.stdout;
  const result: { [key: string]: unknown } | unknown[] | string | number | boolean | null | undefined =
    (data as ExecuteSuccessEnvelopeDto | undefined)?.response.result;
  const failed: string | undefined = error?.error;
  // error_code is the named enum, so a client switches on it with the compiler's help.
  const errorCode: ErrorCode | undefined = error?.error_code;
  const limit: ResourceLimit | undefined = error?.limit;
  const retryable = errorCode === 'QUEUE_FULL' || errorCode === 'RATE_LIMITED' || errorCode === 'SERVICE_UNAVAILABLE';
  const jobId: string = data?.job_id ?? '';
  const job = await getJob({ path: { job_id: jobId } });
  const webhook: { url: string; attempts: number } | null | undefined = job.data?.response.webhook;
  const page = await listJobs({ query: { limit: 10, status: 'completed' } });
  const next: string | null | undefined = page.data?.response.next_cursor;
  const cancelled = await cancelJob({ path: { job_id: jobId } });
  const editor = await editorExecute({ body: { code: '1', timeout: 1.5 } });
  const runtime = await getRuntime();
  const maxTimeout: number | undefined = runtime.data?.response.limits.max_timeout;
  void [stdout, result, failed, errorCode, limit, retryable, webhook, next, cancelled, editor, maxTimeout];
}
`;

/** The request examples of executePython in the committed spec, by name. */
function executeExamples(): Record<string, { value: Record<string, unknown> }> {
  const document = JSON.parse(readFileSync(openApiPath, 'utf8'));
  return document.paths['/v1/code/execute/python'].post.requestBody.content['application/json'].examples;
}

/**
 * Generates a TypeScript SDK from openapi/openapi.json with @hey-api/openapi-ts (as a client author
 * would), loads it (ts-jest compiles it under the project's strict settings) and calls the live app with it.
 */
describe('generated TypeScript SDK against the live service', () => {
  let t: TestApp;
  let sdk: Sdk;
  let receiver: WebhookReceiver;
  const outDir = join(root, 'test', '.generated', `sdk-${process.pid}`);

  beforeAll(async () => {
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    await promisify(execFile)(
      join(root, 'node_modules/.bin/openapi-ts'),
      ['-i', openApiPath, '-o', outDir, '-c', '@hey-api/client-fetch', '--no-log-file', '--silent'],
      { cwd: root },
    );
    // Typed use, as a client author writes it: fails to compile if names or types regress (e.g. result: unknown).
    writeFileSync(join(outDir, 'usage.ts'), typedUsage);
    // As a client author's project would: strict, with the DOM lib the fetch client is written against.
    await promisify(execFile)(
      join(root, 'node_modules/.bin/tsc'),
      [
        '--ignoreConfig',
        '--noEmit',
        '--strict',
        '--skipLibCheck',
        '--target',
        'ES2022',
        '--module',
        'esnext',
        '--moduleResolution',
        'bundler',
        '--lib',
        'ES2022,DOM',
        '--types',
        'node',
        join(outDir, 'index.ts'),
        join(outDir, 'usage.ts'),
      ],
      { cwd: root },
    ).catch((error: { stdout?: string }) => {
      throw new Error(`the generated SDK does not type-check:\n${error.stdout}`);
    });
    receiver = await new WebhookReceiver().start();
    t = await startTestApp({ WEBHOOK_ALLOW_PRIVATE: 'true' });
    await t.app.listen(0, '127.0.0.1');
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    sdk = { ...(require(join(outDir, 'sdk.gen')) as Sdk), client: require(join(outDir, 'client.gen')).client };
    sdk.client.setConfig({ baseUrl: `http://127.0.0.1:${port}`, auth: () => KEY });
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    await receiver?.close();
    rmSync(outDir, { recursive: true, force: true });
  });

  async function untilEnded(jobId: string): Promise<SdkResult> {
    for (let i = 0; i < 200; i++) {
      const job = await sdk.getJob({ path: { job_id: jobId } });
      if (['completed', 'failed', 'cancelled'].includes(job.data?.response.status)) return job;
      await sleep(50);
    }
    throw new Error(`job ${jobId} did not end`);
  }

  it('has one function per operationId of API.md', () => {
    for (const name of [
      'executePython',
      'listJobs',
      'getJob',
      'cancelJob',
      'editorExecute',
      'editorListJobs',
      'editorGetJob',
      'editorCancelJob',
      'healthLive',
      'healthReady',
      'getMetrics',
      'getRuntime',
    ]) {
      expect(typeof sdk[name]).toBe('function');
    }
  });

  it('sync: the seed example runs as it is', async () => {
    const { data, error, response } = await sdk.executePython({ body: executeExamples().hello.value });
    expect(error).toBeUndefined();
    expect(response.status).toBe(200);
    expect(data).toMatchObject({
      code: 200,
      id: 'hello-1',
      message: 'success',
      response: { stdout: 'Hello, World!\n', exit_code: 0 },
    });
  });

  it('stdin: the stdin example runs as it is', async () => {
    const { data, response } = await sdk.executePython({ body: executeExamples().stdin.value });
    expect(response.status).toBe(200);
    expect(data.response.stdout).toBe('Hello, Ada!\n');
  });

  it('failure: a 400 comes back as the typed error envelope', async () => {
    const { data, error, response } = await sdk.executePython({ body: { code: 'print("before")\n1/0', timeout: 10 } });
    expect(data).toBeUndefined();
    expect(response.status).toBe(400);
    expect(error).toMatchObject({
      code: 400,
      error: 'ZeroDivisionError: division by zero',
      error_code: 'EXECUTION_FAILED',
      stdout: 'before\n',
      exit_code: 1,
    });
    expect(error.job_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('async: the async example answers 202, then getJob follows it to completed', async () => {
    const accepted = await sdk.executePython({ body: executeExamples().async.value });
    expect(accepted.response.status).toBe(202);
    expect(accepted.data).toMatchObject({ code: 202, message: 'processing', id: 'async-1' });
    const ended = await untilEnded(accepted.data.job_id);
    expect(ended.data.response).toMatchObject({ job_id: accepted.data.job_id, status: 'completed', webhook: null });
    expect(ended.data.response.result).toMatchObject({ code: 200, response: { stdout: 'done\n', result: 42 } });
  });

  it('webhook: the webhook example, pointed at a local receiver, delivers the final envelope', async () => {
    const body = { ...executeExamples().webhook.value, webhook_url: receiver.url('/sdk-hook') };
    const accepted = await sdk.executePython({ body });
    expect(accepted.response.status).toBe(202);
    const [delivery] = await receiver.waitFor('/sdk-hook', 1);
    expect(JSON.parse(delivery.body)).toMatchObject({
      code: 200,
      job_id: accepted.data.job_id,
      id: 'webhook-1',
      response: { result: 45 },
    });
  });

  it('cancel and get: a running job is cancelled; cancelling again is a 409; an unknown job is a 404', async () => {
    const accepted = await sdk.executePython({
      body: { code: 'import time\nprint("started", flush=True)\ntime.sleep(30)', async: true },
    });
    const jobId = accepted.data.job_id;
    for (let i = 0; i < 200 && (await sdk.getJob({ path: { job_id: jobId } })).data.response.status !== 'running'; i++)
      await sleep(25);
    const cancelled = await sdk.cancelJob({ path: { job_id: jobId } });
    expect(cancelled.response.status).toBe(200);
    expect(cancelled.data.response).toMatchObject({ job_id: jobId, status: 'cancelled' });
    const again = await sdk.cancelJob({ path: { job_id: jobId } });
    expect(again.response.status).toBe(409);
    expect(again.error).toMatchObject({ code: 409, job_id: jobId, error_code: 'JOB_ALREADY_FINISHED' });
    const unknown = await sdk.getJob({ path: { job_id: '00000000-0000-4000-8000-000000000000' } });
    expect(unknown.response.status).toBe(404);
    expect(unknown.error).toMatchObject({ code: 404, message: 'Job not found' });
  });

  it('list: newest first with a limit; a bad limit is a 400', async () => {
    const first = await sdk.executePython({ body: { code: '1', timeout: 10 } });
    const second = await sdk.executePython({ body: { code: '2', timeout: 10 } });
    const { data, response } = await sdk.listJobs({ query: { limit: 2 } });
    expect(response.status).toBe(200);
    expect(data.response.jobs.map((j: { job_id: string }) => j.job_id)).toEqual([
      second.data.job_id,
      first.data.job_id,
    ]);
    expect(data.response.next_cursor).toEqual(expect.any(String));
    const bad = await sdk.listJobs({ query: { limit: 0 } });
    expect(bad.response.status).toBe(400);
    expect(bad.error.details).toEqual([expect.stringMatching(/^limit/)]);
  });

  it('editor dialect: execute (sync, failure, async), get, list, cancel', async () => {
    const ok = await sdk.editorExecute({ body: { code: 'print("hi")\n6 * 7', timeout: 10 } });
    expect(ok.response.status).toBe(200);
    expect(ok.data).toMatchObject({ success: true, status: 'completed', output: 'hi\n', result: 42 });

    const failed = await sdk.editorExecute({ body: { code: 'raise ValueError("no")' } });
    expect(failed.response.status).toBe(400);
    expect(failed.error).toMatchObject({ success: false, error: 'EXECUTION_FAILED', message: 'ValueError: no' });

    const got = await sdk.editorGetJob({ query: { id: ok.data.job_id } });
    expect(got.data).toMatchObject({
      success: true,
      job: { id: ok.data.job_id, status: 'completed', output: 'hi\n', result: 42 },
    });

    const pending = await sdk.editorExecute({ body: { code: 'import time\ntime.sleep(30)', async: true } });
    expect(pending.response.status).toBe(202);
    expect(pending.data).toMatchObject({ success: true, status: 'pending' });
    const listed = await sdk.editorListJobs();
    expect(listed.data.jobs.map((j: { id: string }) => j.id)).toEqual(
      expect.arrayContaining([ok.data.job_id, pending.data.job_id]),
    );
    const cancelled = await sdk.editorCancelJob({ query: { id: pending.data.job_id } });
    expect(cancelled.data).toEqual({
      success: true,
      message: `Job '${pending.data.job_id}' has been cancelled`,
      job_id: pending.data.job_id,
    });
    const missing = await sdk.editorGetJob({ query: { id: 'no-such-job' } });
    expect(missing.response.status).toBe(404);
    expect(missing.error).toMatchObject({ success: false, error: 'JOB_NOT_FOUND' });
  });

  it('runtime, health and metrics', async () => {
    const runtime = await sdk.getRuntime();
    expect(runtime.data.response).toMatchObject({ sandbox: { mode: 'bwrap' }, limits: { max_timeout: 300 } });
    expect((await sdk.healthLive()).data).toEqual({ status: 'ok' });
    const metrics = await sdk.getMetrics({ parseAs: 'text' });
    expect(metrics.data).toMatch(/^# HELP /m);
  });

  it('a wrong key is a 401 envelope', async () => {
    const { error, response } = await sdk.executePython({ body: { code: '1' }, auth: () => 'wrong-key' });
    expect(response.status).toBe(401);
    expect(error).toMatchObject({ code: 401, message: 'Unauthorized', error_code: 'UNAUTHORIZED' });
  });
});
