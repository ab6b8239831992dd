import type { JobWebhooks } from '../jobs/job-webhooks';
import type { JobRecord, WebhookState } from '../jobs/job.types';
import { WebhookReconciler } from './webhook-reconciler';
import type { WebhooksService } from './webhooks.service';

const webhook = (status: WebhookState['status']): WebhookState => ({
  url: 'https://example.com/h',
  status,
  attempts: 0,
  last_status_code: null,
  last_error: null,
  delivered_at: null,
});

describe('WebhookReconciler', () => {
  function setup(records: Record<string, Partial<JobRecord> | null>, queuedInBull: string[]) {
    const outbox = new Set(Object.keys(records));
    const jobWebhooks = {
      undelivered: jest.fn(async () => [...outbox]),
      record: jest.fn(async (id: string) => (records[id] ? ({ jobId: id, ...records[id] } as JobRecord) : null)),
      queued: jest.fn(async (id: string) => void outbox.delete(id)),
    };
    const enqueue = jest.fn(async (record: JobRecord) => void outbox.delete(record.jobId));
    const webhooks = { enqueue, isQueued: jest.fn(async (id: string) => queuedInBull.includes(id)) };
    const reconciler = new WebhookReconciler(
      jobWebhooks as unknown as JobWebhooks,
      webhooks as unknown as WebhooksService,
    );
    return { reconciler, outbox, enqueue };
  }

  it('queues the delivery of an ended job whose webhook is pending and not in the webhooks queue', async () => {
    const { reconciler, outbox, enqueue } = setup({ lost: { status: 'completed', webhook: webhook('pending') } }, []);
    expect(await reconciler.reconcile()).toBe(1);
    expect(enqueue).toHaveBeenCalledWith(expect.objectContaining({ jobId: 'lost' }));
    expect(outbox.size).toBe(0);
  });

  it('leaves alone what needs nothing: queued after all, settled, or expired; and empties the outbox of them', async () => {
    const { reconciler, outbox, enqueue } = setup(
      {
        queued: { status: 'completed', webhook: webhook('pending') },
        delivered: { status: 'failed', webhook: webhook('delivered') },
        expired: null,
      },
      ['queued'],
    );
    expect(await reconciler.reconcile()).toBe(0);
    expect(enqueue).not.toHaveBeenCalled();
    expect(outbox.size).toBe(0);
  });
});
