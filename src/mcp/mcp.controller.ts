import { Controller, Delete, Get, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  ErrorCode as McpErrorCode,
  ListToolsRequestSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import type { Request, Response } from 'express';
import { CallerKeyId } from '../auth/auth.decorators';
import { packageVersion } from '../config/build-info';
import { McpCaller, McpToolCalls } from './mcp-tool-calls';
import { MCP_TOOLS } from './mcp-tools';

export const MCP_SERVER_NAME = 'pyexec';

/**
 * POST /mcp: the Model Context Protocol's Streamable HTTP transport, stateless (a server and a transport
 * per request, no MCP session), so any API process answers any client; GET and DELETE answer 405.
 * Behind the global API-key guard like every other route. Documented in the README, not in openapi.json.
 */
@ApiExcludeController()
@Controller('mcp')
export class McpController {
  constructor(private readonly tools: McpToolCalls) {}

  @Post()
  async post(@CallerKeyId() owner: string, @Req() request: Request, @Res() response: Response): Promise<void> {
    const server = mcpServer(this.tools, { owner, request, response });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    response.once('close', () => void Promise.all([transport.close(), server.close()]).catch(() => undefined));
    await server.connect(transport);
    await transport.handleRequest(request, response, request.body);
  }

  @Get()
  getStream(@Res() response: Response): void {
    methodNotAllowed(response);
  }

  @Delete()
  deleteSession(@Res() response: Response): void {
    methodNotAllowed(response);
  }
}

function mcpServer(tools: McpToolCalls, caller: McpCaller): Server {
  const server = new Server(
    { name: MCP_SERVER_NAME, version: packageVersion() },
    { capabilities: { tools: {} }, instructions: 'Runs Python snippets in sandboxes; jobs belong to your API key.' },
  );
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: MCP_TOOLS }));
  server.setRequestHandler(CallToolRequestSchema, async ({ params }) => {
    if (!MCP_TOOLS.some((tool) => tool.name === params.name)) {
      throw new McpError(McpErrorCode.InvalidParams, `Unknown tool: ${params.name}`);
    }
    return tools.call(params.name, params.arguments ?? {}, caller);
  });
  return server;
}

/** Stateless: no server-initiated stream to open (GET) and no session to end (DELETE). */
function methodNotAllowed(response: Response): void {
  response
    .status(405)
    .setHeader('Allow', 'POST')
    .json({
      jsonrpc: '2.0',
      error: { code: -32000, message: 'Method not allowed: this MCP server is stateless (POST only)' },
      id: null,
    });
}
