import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { WebhookDelivery } from './webhook-delivery';
import { WebhooksService } from './webhooks.service';

/** Thin: in worker roles, hands each due delivery to WebhookDelivery. */
@Injectable()
export class WebhookProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger('Webhooks');

  constructor(
    private readonly webhooks: WebhooksService,
    private readonly delivery: WebhookDelivery,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.role === 'api') return;
    if (!this.delivery.signer.signs) this.logger.warn('WEBHOOK_SECRET is not set: webhooks are sent without webhook-signature');
    if (this.config.webhookAllowPrivate) this.logger.warn('WEBHOOK_ALLOW_PRIVATE=true: webhooks may reach loopback, private and metadata addresses');
    this.webhooks.registerWorker(this.config.webhookConcurrency, (jobId, lastAllowed) => this.delivery.attempt(jobId, lastAllowed));
  }
}
