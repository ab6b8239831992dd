import type { SendOutcome } from './webhook-sender';

export const maxBackoffMs = 5 * 60 * 1000;
/** Each delay is the doubled base scaled by a random factor in [1 - jitter, 1 + jitter). */
const jitterFraction = 0.2;

export type Verdict =
  { result: 'delivered'; statusCode: number } | { result: 'retry' | 'final'; statusCode: number | null; error: string };

/** 2xx delivered; network errors, timeouts, 429 and 5xx are retried; everything else is final. */
export function judge(outcome: SendOutcome): Verdict {
  switch (outcome.kind) {
    case 'refused':
      return { result: 'final', statusCode: null, error: outcome.error };
    case 'network':
    case 'timeout':
      return { result: 'retry', statusCode: null, error: outcome.error };
  }
  const { statusCode, location } = outcome;
  if (statusCode >= 200 && statusCode < 300) return { result: 'delivered', statusCode };
  if (statusCode === 429 || statusCode >= 500) {
    return { result: 'retry', statusCode, error: `Receiver answered ${statusCode}` };
  }
  if (statusCode >= 300 && statusCode < 400) {
    const to = location ? ` to ${location}` : '';
    return {
      result: 'final',
      statusCode,
      error: `Receiver answered ${statusCode} (redirect${to}); redirects are not followed`,
    };
  }
  return { result: 'final', statusCode, error: `Receiver answered ${statusCode}; not retried` };
}

/**
 * Delay before retry number `retry` (1 = the second attempt): base × 2^(retry-1), capped at
 * 5 minutes, times a jitter factor in [0.8, 1.2] (rounded) so retries of many jobs do not arrive in step.
 */
export function backoffDelayMs(retry: number, baseMs: number, random: () => number = Math.random): number {
  const exponential = Math.min(maxBackoffMs, baseMs * 2 ** Math.max(0, retry - 1));
  return Math.max(1, Math.round(exponential * (1 - jitterFraction + 2 * jitterFraction * random())));
}
