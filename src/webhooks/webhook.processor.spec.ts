import type { Job } from 'bull';
import { AppConfig } from '../config/app-config';
import type { WebhookDelivery } from './webhook-delivery';
import { RetryLater, WebhookProcessor } from './webhook.processor';
import type { WebhookJobData } from './webhooks.service';

function fakeJob(attemptsMade: number, attempts: number): Job<WebhookJobData> {
  return { id: 'job-1', data: { jobId: 'job-1' }, attemptsMade, opts: { attempts } } as Job<WebhookJobData>;
}

describe('WebhookProcessor', () => {
  const attempt = jest.fn<Promise<'settled' | 'retry'>, [string, boolean]>();
  const processor = new WebhookProcessor(
    { attempt, signer: { signs: true } } as unknown as WebhookDelivery,
    { webhookConcurrency: 4, webhookAllowPrivate: false } as AppConfig,
  );
  beforeEach(() => attempt.mockReset());

  it('a settled attempt (delivered, or failed for good) completes the Bull job', async () => {
    attempt.mockResolvedValue('settled');
    await expect(processor.deliver(fakeJob(0, 8))).resolves.toBeUndefined();
    expect(attempt).toHaveBeenCalledWith('job-1', false);
  });

  it('an attempt to retry fails the Bull job, so Bull retries it after the backoff', async () => {
    attempt.mockResolvedValue('retry');
    await expect(processor.deliver(fakeJob(2, 8))).rejects.toBeInstanceOf(RetryLater);
  });

  it('tells the delivery when this is the last attempt Bull allows', async () => {
    attempt.mockResolvedValue('settled');
    await processor.deliver(fakeJob(7, 8));
    expect(attempt).toHaveBeenCalledWith('job-1', true);
  });
});
