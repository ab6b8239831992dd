import type { Tool } from '@modelcontextprotocol/sdk/types.js';

// The tools of POST /mcp. Input schemas: the listed subset of the HTTP DTOs (ExecutePythonDto's code,
// stdin, timeout, files), as JSON Schema; mcp-tools.spec.ts checks them against openapi.json.

/** The fields of ExecutePythonDto that execute_python takes (async and webhook_url make no sense for a tool). */
export const EXECUTE_TOOL_FIELDS = ['code', 'stdin', 'timeout', 'files'] as const;

const sessionIdProperty = { type: 'string', description: 'The session_id of a session this API key created' };

const jobIdSchema: Tool['inputSchema'] = {
  type: 'object',
  properties: { job_id: { type: 'string', description: 'The job_id of a job this API key created' } },
  required: ['job_id'],
  additionalProperties: false,
};

/** execute_python's arguments: ExecutePythonDto's code, stdin, timeout and files. */
const executeSchema = {
  type: 'object',
  properties: {
    code: {
      type: 'string',
      pattern: '\\S',
      description:
        'Python source to run as a fresh module. A top-level `return x`, or a trailing expression, becomes the result.',
    },
    stdin: { type: 'string', description: "Fed to the program's standard input." },
    timeout: {
      type: 'integer',
      minimum: 1,
      maximum: 300,
      description: 'Wall-clock seconds, 1..300 (default 30; values above MAX_TIMEOUT are lowered to it).',
    },
    files: {
      type: 'array',
      description:
        "Input files, written into the run's working directory before the code starts (at most\nMAX_INPUT_FILES, MAX_INPUT_FILE_BYTES decoded in all). What the program leaves under `./outputs/`\ncomes back in `files`.",
      items: {
        type: 'object',
        properties: {
          path: {
            type: 'string',
            maxLength: 255,
            description: "Relative path in the run's working directory: no `..`, no leading `/`, at most 255 bytes.",
          },
          content: {
            type: 'string',
            description: 'The file\'s content: text, or base64 with `encoding: "base64"`.',
          },
          encoding: {
            type: 'string',
            enum: ['utf-8', 'base64'],
            default: 'utf-8',
            description: 'How `content` is written (default `utf-8`).',
          },
        },
        required: ['path', 'content'],
        additionalProperties: false,
      },
    },
  },
  required: ['code'],
  additionalProperties: false,
} satisfies Tool['inputSchema'];

export const MCP_TOOLS: Tool[] = [
  {
    name: 'execute_python',
    title: 'Run Python',
    description:
      'Runs a Python 3 snippet in a fresh sandbox (no network) and waits for it. A top-level `return x` or a ' +
      'trailing expression becomes the result. Returns stdout, stderr and the result as JSON; on failure ' +
      '(exception, non-zero exit, limit, timeout) isError with the error envelope.',
    inputSchema: executeSchema,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  },
  {
    name: 'create_session',
    title: 'Start a Python session',
    description:
      'Starts a sandboxed Python interpreter that keeps its globals, imports and files between calls ' +
      '(execute_in_session); it ends after `ttl` idle seconds or close_session. Returns the session (session_id).',
    inputSchema: {
      type: 'object',
      properties: {
        ttl: {
          type: 'integer',
          minimum: 10,
          maximum: 3600,
          description: 'Idle seconds before the session ends by itself (`expired`), 10..3600 (default 600).',
        },
      },
      additionalProperties: false,
    },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  },
  {
    name: 'execute_in_session',
    title: 'Run Python in a session',
    description:
      'Runs a Python snippet in a session: what earlier calls defined, imported or wrote is there. The result ' +
      'rule and the answer are those of execute_python; a session that has ended answers isError (410 SESSION_GONE).',
    inputSchema: {
      ...executeSchema,
      properties: { session_id: sessionIdProperty, ...executeSchema.properties },
      required: ['session_id', 'code'],
    },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  },
  {
    name: 'close_session',
    title: 'Close a session',
    description: 'Ends a session and frees its memory; a call still running in it is answered 410.',
    inputSchema: {
      type: 'object',
      properties: { session_id: sessionIdProperty },
      required: ['session_id'],
      additionalProperties: false,
    },
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  },
  {
    name: 'get_job',
    title: 'Get a job',
    description: "One job's status, times and (once ended) its final envelope, as GET /v1/jobs/{job_id} answers.",
    inputSchema: jobIdSchema,
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
  {
    name: 'cancel_job',
    title: 'Cancel a job',
    description: 'Cancels a pending or running job (a running program is killed within a second).',
    inputSchema: jobIdSchema,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  },
];
