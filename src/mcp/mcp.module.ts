import { Module } from '@nestjs/common';
import { ExecutionModule } from '../execution/execution.module';
import { JobsModule } from '../jobs/jobs.module';
import { SessionsModule } from '../sessions/sessions.module';
import { McpController } from './mcp.controller';
import { McpToolCalls } from './mcp-tool-calls';

/** POST /mcp (tools for AI agents): composed in the api and all roles. */
@Module({
  imports: [ExecutionModule, JobsModule, SessionsModule],
  controllers: [McpController],
  providers: [McpToolCalls],
})
export class McpModule {}
