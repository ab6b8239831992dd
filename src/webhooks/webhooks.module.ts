import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { MetricsModule } from '../metrics/metrics.module';
import { WebhookDelivery } from './webhook-delivery';
import { WebhookProcessor } from './webhook.processor';
import { WEBHOOKS_QUEUE, WebhooksService, webhooksQueueSettings } from './webhooks.service';

/** Deliveries of final envelopes to webhook_url, on their own queue so a slow receiver never delays a run. */
@Module({
  imports: [JobsModule, MetricsModule, BullModule.registerQueue({ name: WEBHOOKS_QUEUE, settings: webhooksQueueSettings })],
  providers: [WebhooksService, WebhookDelivery, WebhookProcessor],
})
export class WebhooksModule {}
