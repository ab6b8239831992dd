import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { KEY, OTHER_KEY, startTestApp, TestApp, waitFor } from './utils';

describe('MCP tools over Streamable HTTP (the SDK client, real Redis, real sandbox)', () => {
  let t: TestApp;
  let url: URL;
  const clients: Client[] = [];
  beforeAll(async () => {
    t = await startTestApp({ SANDBOX_SERVERS: '2', WORKER_CONCURRENCY: '2' });
    await t.app.listen(0, '127.0.0.1');
    url = new URL(`http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}/mcp`);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await t.close();
  });

  async function connect(headers: Record<string, string> = { authorization: `Bearer ${KEY}` }): Promise<Client> {
    const client = new Client({ name: 'pyexec-e2e', version: '1.0.0' });
    clients.push(client);
    await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers } }));
    return client;
  }
  const call = (client: Client, name: string, args: Record<string, unknown>) =>
    client.callTool({ name, arguments: args }) as Promise<CallToolResult>;

  it('initializes, and lists the tools with JSON Schema inputs', async () => {
    const client = await connect();
    expect(client.getServerVersion()).toMatchObject({ name: 'pyexec' });
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual([
      'cancel_job',
      'close_session',
      'create_session',
      'execute_in_session',
      'execute_python',
      'get_job',
    ]);
    const execute = tools.find((tool) => tool.name === 'execute_python')!;
    expect(execute.inputSchema).toMatchObject({
      type: 'object',
      required: ['code'],
      properties: { code: { type: 'string' }, stdin: { type: 'string' }, timeout: { type: 'integer', maximum: 300 } },
    });
  });

  it('execute_python: stdout, stderr and the result as text; structuredContent is the v1 response', async () => {
    const client = await connect({ 'x-api-key': KEY });
    const result = await call(client, 'execute_python', {
      code: 'import sys\nprint(input())\nsys.stderr.write("w")\n{"n": 6 * 7}',
      stdin: 'hello\n',
      timeout: 10,
    });
    expect(result.isError).toBeFalsy();
    expect(result.content).toEqual([
      { type: 'text', text: 'hello\n' },
      { type: 'text', text: 'w' },
      { type: 'text', text: '{"n":42}' },
    ]);
    expect(result.structuredContent).toEqual({
      result: { n: 42 },
      stdout: 'hello\n',
      stderr: 'w',
      exit_code: 0,
      stdout_truncated: false,
      stderr_truncated: false,
      files: [],
      display: [],
      display_truncated: false,
    });
  });

  it('execute_python takes input files and returns what the program left under outputs/', async () => {
    const client = await connect();
    const result = await call(client, 'execute_python', {
      code: "import os\nos.makedirs('outputs', exist_ok=True)\nopen('outputs/b.txt', 'w').write(open('in/a.txt').read().upper())\nopen('in/a.txt').read()",
      files: [{ path: 'in/a.txt', content: 'hi' }],
    });
    expect(result.isError).toBeFalsy();
    const response = result.structuredContent as { result: unknown; files: Array<{ path: string; content: string }> };
    expect(response.result).toBe('hi');
    expect(response.files.map((f) => [f.path, Buffer.from(f.content, 'base64').toString()])).toEqual([['b.txt', 'HI']]);
    const bad = await call(client, 'execute_python', { code: '1', files: [{ path: '../x', content: '' }] });
    expect(bad.isError).toBe(true);
    expect(bad.structuredContent).toMatchObject({ code: 400, error_code: 'INVALID_REQUEST' });
  });

  it('a failing run is isError with the v1 error body; the job is an ordinary job of the key', async () => {
    const client = await connect();
    const result = await call(client, 'execute_python', { code: 'print("x")\n1/0' });
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toMatchObject({
      code: 400,
      error_code: 'EXECUTION_FAILED',
      error: 'ZeroDivisionError: division by zero',
      stdout: 'x\n',
      endpoint: '/mcp',
    });
    const jobId = (result.structuredContent as { job_id: string }).job_id;
    const job = await call(client, 'get_job', { job_id: jobId });
    expect(job.structuredContent).toMatchObject({ job_id: jobId, status: 'failed', result: { code: 400 } });
    const list = await t.http.get('/v1/jobs').set('x-api-key', KEY);
    expect(list.body.response.jobs.map((j: { job_id: string }) => j.job_id)).toContain(jobId);
    expect((await t.http.get(`/v1/jobs/${jobId}`).set('x-api-key', OTHER_KEY)).status).toBe(404);
  });

  it('sessions: create_session, execute_in_session keeps state, close_session ends it (then 410)', async () => {
    const client = await connect();
    const created = await call(client, 'create_session', { ttl: 60 });
    expect(created.isError).toBeFalsy();
    const sessionId = (created.structuredContent as { session_id: string }).session_id;
    expect(created.structuredContent).toMatchObject({ status: 'idle', ended_reason: null });
    await call(client, 'execute_in_session', { session_id: sessionId, code: 'total = 40' });
    const second = await call(client, 'execute_in_session', { session_id: sessionId, code: 'total + 2' });
    expect(second.structuredContent).toMatchObject({ result: 42, exit_code: 0 });
    const closed = await call(client, 'close_session', { session_id: sessionId });
    expect(closed.structuredContent).toMatchObject({ status: 'ended', ended_reason: 'deleted' });
    const after = await call(client, 'execute_in_session', { session_id: sessionId, code: '1' });
    expect(after.isError).toBe(true);
    expect(after.structuredContent).toMatchObject({ code: 410, error_code: 'SESSION_GONE', ended_reason: 'deleted' });
    const bad = await call(client, 'create_session', { ttl: 5 });
    expect(bad.structuredContent).toMatchObject({ code: 400, error_code: 'INVALID_REQUEST' });
  });

  it('invalid arguments follow the HTTP DTO rules: isError with INVALID_REQUEST and details', async () => {
    const client = await connect();
    const result = await call(client, 'execute_python', { code: '  ', timeout: 1.5, async: true });
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toMatchObject({ code: 400, error_code: 'INVALID_REQUEST', job_id: null });
    expect((result.structuredContent as { details: string[] }).details).toEqual(
      expect.arrayContaining(['property async should not exist', 'code must not be empty']),
    );
  });

  it('cancel_job cancels a running job of the key; get_job of another key is NOT_FOUND; a second cancel is 409', async () => {
    const submitted = await t.http
      .post('/v1/code/execute/python')
      .set('x-api-key', KEY)
      .send({ code: 'import time\ntime.sleep(30)', async: true });
    const jobId = submitted.body.job_id as string;
    await waitFor('the run to start', async () => {
      const res = await t.http.get(`/v1/jobs/${jobId}`).set('x-api-key', KEY);
      return res.body.response.status === 'running';
    });
    const other = await connect({ 'x-api-key': OTHER_KEY });
    expect((await call(other, 'get_job', { job_id: jobId })).structuredContent).toMatchObject({
      code: 404,
      error_code: 'NOT_FOUND',
    });
    const client = await connect();
    const cancelled = await call(client, 'cancel_job', { job_id: jobId });
    expect(cancelled.isError).toBeFalsy();
    expect(cancelled.structuredContent).toMatchObject({ job_id: jobId, status: 'cancelled', result: { code: 499 } });
    const again = await call(client, 'cancel_job', { job_id: jobId });
    expect(again).toMatchObject({
      isError: true,
      structuredContent: { code: 409, error_code: 'JOB_ALREADY_FINISHED' },
    });
  });

  it('a bad or missing key is 401 before any MCP exchange; GET and DELETE are 405 (stateless)', async () => {
    await expect(connect({ 'x-api-key': 'wrong' })).rejects.toThrow(/401/);
    const raw = await t.http
      .post('/mcp')
      .set('content-type', 'application/json')
      .set('accept', 'application/json, text/event-stream')
      .send({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    expect(raw.status).toBe(401);
    expect(raw.body).toMatchObject({ code: 401, error_code: 'UNAUTHORIZED' });
    expect((await t.http.get('/mcp').set('x-api-key', KEY)).status).toBe(405);
    expect((await t.http.delete('/mcp').set('x-api-key', KEY)).status).toBe(405);
  });
});
