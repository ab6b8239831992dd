import type { Tool } from '@modelcontextprotocol/sdk/types.js';

// The tools of POST /mcp. Input schemas: the listed subset of the HTTP DTOs (ExecutePythonDto's code,
// stdin, timeout, files), as JSON Schema; mcp-tools.spec.ts checks them against openapi.json.

/** The fields of ExecutePythonDto that execute_python takes (async and webhook_url make no sense for a tool). */
export const EXECUTE_TOOL_FIELDS = ['code', 'stdin', 'timeout', 'files'] as const;

const jobIdSchema: Tool['inputSchema'] = {
  type: 'object',
  properties: { job_id: { type: 'string', description: 'The job_id of a job this API key created' } },
  required: ['job_id'],
  additionalProperties: false,
};

export const MCP_TOOLS: Tool[] = [
  {
    name: 'execute_python',
    title: 'Run Python',
    description:
      'Runs a Python 3 snippet in a fresh sandbox (no network) and waits for it. A top-level `return x` or a ' +
      'trailing expression becomes the result. Returns stdout, stderr and the result as JSON; on failure ' +
      '(exception, non-zero exit, limit, timeout) isError with the error envelope.',
    inputSchema: {
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
                description:
                  "Relative path in the run's working directory: no `..`, no leading `/`, at most 255 bytes.",
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
    },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
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
