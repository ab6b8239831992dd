import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { v1Envelope } from '../jobs/job-envelope';
import { JobWebhooks } from '../jobs/job-webhooks';
import { WebhookState } from '../jobs/job.types';
import { MetricsService } from '../metrics/metrics.service';
import { judge } from './webhook-retry-policy';
import { WebhookSender } from './webhook-sender';
import { WebhookSigner } from './webhook-signer';
import { annotateActiveSpan } from '../tracing/trace-context';

/** What an attempt tells the queue: done for good, or try again after a backoff. */
export type AttemptResult = 'settled' | 'retry';

/** Worker side: one delivery attempt of a job's final envelope, its result written back to the job. */
@Injectable()
export class WebhookDelivery {
  private readonly logger = new Logger('Webhooks');
  private readonly sender: WebhookSender;
  readonly signer: WebhookSigner;
  private readonly userAgent: string;

  constructor(
    private readonly jobWebhooks: JobWebhooks,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {
    this.sender = new WebhookSender({ timeoutMs: config.webhookTimeoutMs, allowPrivate: config.webhookAllowPrivate });
    this.signer = new WebhookSigner(config.webhookSecret);
    this.userAgent = `pyexec-service/${config.buildNumber} (webhooks)`;
  }

  /** 'retry' when this attempt should be followed by another one (after a backoff). */
  async attempt(jobId: string, lastAllowed: boolean): Promise<AttemptResult> {
    const record = await this.jobWebhooks.record(jobId);
    const webhook = record?.webhook;
    const envelope = record && v1Envelope(record, this.config.buildNumber);
    // Gone (retention), or already settled by an earlier run of a stalled Bull job.
    if (!envelope || !webhook || webhook.status !== 'pending') return 'settled';

    const attempts = webhook.attempts + 1;
    const body = JSON.stringify(envelope);
    const headers = {
      'content-type': 'application/json',
      'user-agent': this.userAgent,
      ...this.signer.headers(jobId, body, new Date()),
    };
    const verdict = judge(await this.sender.post(webhook.url, headers, body));
    const retry = verdict.result === 'retry' && !lastAllowed && attempts < this.config.webhookMaxAttempts;
    const state: WebhookState =
      verdict.result === 'delivered'
        ? {
            ...webhook,
            status: 'delivered',
            attempts,
            last_status_code: verdict.statusCode,
            last_error: null,
            delivered_at: new Date().toISOString(),
          }
        : {
            ...webhook,
            status: retry ? 'pending' : 'failed',
            attempts,
            last_status_code: verdict.statusCode,
            last_error: verdict.error,
          };
    await this.jobWebhooks.setState(jobId, state);
    this.metrics.recordWebhook(state.status === 'pending' ? 'retried' : state.status);
    annotateActiveSpan({
      'pyexec.outcome': state.status,
      'pyexec.webhook.attempt': attempts,
      ...(verdict.statusCode && { 'http.response.status_code': verdict.statusCode }),
    });

    const fields = { job_id: jobId };
    const where = `webhook to ${originOf(webhook.url)}`;
    if (state.status === 'failed')
      this.logger.warn(fields, `${where}: failed after ${attempts} attempt(s): ${state.last_error}`);
    else if (retry) this.logger.debug(fields, `${where}: attempt ${attempts} failed (${state.last_error}); will retry`);
    else this.logger.debug(fields, `${where}: delivered on attempt ${attempts}`);
    return retry ? 'retry' : 'settled';
  }
}

/** Logs name the receiver's origin only: paths and queries may carry the receiver's tokens. */
function originOf(url: string): string {
  return URL.canParse(url) ? new URL(url).origin : 'an invalid URL';
}
