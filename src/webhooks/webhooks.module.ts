import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { WEBHOOKS_QUEUE, WebhooksService, webhooksQueueSettings } from './webhooks.service';

/**
 * Queues the delivery of every ended job that has a webhook_url, in every role (an API process
 * ends the jobs it cancels while pending), on its own queue so a slow receiver never delays a run.
 */
@Module({
  imports: [JobsModule, BullModule.registerQueue({ name: WEBHOOKS_QUEUE, settings: webhooksQueueSettings })],
  providers: [WebhooksService],
  exports: [WebhooksService],
})
export class WebhooksModule {}
