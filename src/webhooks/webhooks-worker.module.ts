import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { MetricsModule } from '../metrics/metrics.module';
import { WebhookDelivery } from './webhook-delivery';
import { WebhookReconciler } from './webhook-reconciler';
import { WebhookProcessor } from './webhook.processor';
import { WebhooksModule } from './webhooks.module';

/** The consumer of the webhooks queue and the outbox reconciler: composed in the worker and all roles. */
@Module({
  imports: [JobsModule, WebhooksModule, MetricsModule],
  providers: [WebhookDelivery, WebhookProcessor, WebhookReconciler],
})
export class WebhooksWorkerModule {}
