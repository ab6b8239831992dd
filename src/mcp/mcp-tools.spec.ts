import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runResult } from './mcp-tool-calls';
import { EXECUTE_TOOL_FIELDS, MCP_TOOLS } from './mcp-tools';

type Schema = { properties: Record<string, Record<string, unknown>>; required?: string[] };

/** An array of $ref items (files) inlined, without examples, as a tool's JSON Schema must be. */
function withRefsResolved(property: Record<string, unknown>): Record<string, unknown> {
  const items = property.items as { $ref?: string } | undefined;
  if (!items?.$ref) return property;
  const name = items.$ref.split('/').pop()!;
  const schema = openapiDocument().components.schemas[name];
  const properties = Object.fromEntries(
    Object.entries(schema.properties).map(([key, { example: _example, ...rules }]) => [key, rules]),
  );
  return { ...property, items: { ...schema, properties } };
}

/** The tool's own strictness (unknown fields refused, as the HTTP pipe does) is not in the DTO. */
function withoutAdditional(property: Record<string, unknown>): Record<string, unknown> {
  const items = property.items as Record<string, unknown> | undefined;
  if (!items) return property;
  const { additionalProperties: _strict, ...rest } = items;
  return { ...property, items: rest };
}

function openapiDocument(): { components: { schemas: Record<string, Schema> } } {
  return JSON.parse(readFileSync(join(__dirname, '..', '..', 'openapi', 'openapi.json'), 'utf8')) as {
    components: { schemas: Record<string, Schema> };
  };
}

describe('MCP tool schemas', () => {
  const openapi = JSON.parse(readFileSync(join(__dirname, '..', '..', 'openapi', 'openapi.json'), 'utf8')) as {
    components: { schemas: Record<string, Schema> };
  };
  const dto = openapi.components.schemas.ExecutePythonDto;
  const tool = MCP_TOOLS.find((t) => t.name === 'execute_python')!.inputSchema as unknown as Schema;

  it("execute_python takes the listed subset of ExecutePythonDto, with the DTO's rules and descriptions", () => {
    expect(Object.keys(tool.properties).sort()).toEqual([...EXECUTE_TOOL_FIELDS].sort());
    for (const field of EXECUTE_TOOL_FIELDS) {
      const { example: _example, type, ...rules } = withRefsResolved(dto.properties[field]);
      const { type: toolType, ...toolRules } = withoutAdditional(tool.properties[field]);
      expect([field, toolRules]).toEqual([field, rules]);
      // timeout: the DTO is @IsInt(); Swagger writes "number", JSON Schema can say "integer".
      expect(toolType).toBe(field === 'timeout' ? 'integer' : type);
    }
    expect(tool.required).toEqual(dto.required);
  });
});

describe('runResult', () => {
  const base = { endpoint: '/mcp', id: null, job_id: 'j', pid: 1, queue_id: 2, build_number: 'b' };

  it('a success: non-empty stdout and stderr, the result as JSON, each PNG of display as an image', () => {
    const response = {
      result: [1],
      stdout: 'o',
      stderr: '',
      exit_code: 0,
      display: [{ mime_type: 'image/png', data: 'iVBO' }],
    };
    expect(runResult({ ...base, code: 200, message: 'success', response } as never)).toEqual({
      content: [
        { type: 'text', text: 'o' },
        { type: 'text', text: '[1]' },
        { type: 'image', data: 'iVBO', mimeType: 'image/png' },
      ],
      structuredContent: response,
    });
  });

  it('a failure: isError, the error first, then the output; structuredContent is the error body', () => {
    const body = {
      ...base,
      code: 408,
      message: 'Execution timed out after 1 seconds',
      response: null,
      error: 'Execution timed out after 1 seconds',
      stdout: 'x',
      stderr: '',
    };
    expect(runResult(body as never)).toEqual({
      isError: true,
      content: [
        { type: 'text', text: 'Execution timed out after 1 seconds' },
        { type: 'text', text: 'x' },
      ],
      structuredContent: body,
    });
  });
});
