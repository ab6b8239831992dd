import { backoffDelayMs, judge, maxBackoffMs } from './webhook-retry-policy';

describe('judge', () => {
  it.each([200, 201, 202, 204, 299])('%i is delivered', (statusCode) => {
    expect(judge({ kind: 'response', statusCode, location: null })).toEqual({ result: 'delivered', statusCode });
  });

  it.each([429, 500, 502, 503, 504, 599])('%i is retried', (statusCode) => {
    expect(judge({ kind: 'response', statusCode, location: null })).toEqual({
      result: 'retry',
      statusCode,
      error: `Receiver answered ${statusCode}`,
    });
  });

  it.each([400, 401, 403, 404, 408, 410, 413, 422, 101])('%i is final', (statusCode) => {
    expect(judge({ kind: 'response', statusCode, location: null })).toEqual({
      result: 'final',
      statusCode,
      error: `Receiver answered ${statusCode}; not retried`,
    });
  });

  it('a redirect is final and not followed', () => {
    expect(judge({ kind: 'response', statusCode: 302, location: 'http://169.254.169.254/' })).toEqual({
      result: 'final',
      statusCode: 302,
      error: 'Receiver answered 302 (redirect to http://169.254.169.254/); redirects are not followed',
    });
  });

  it('network errors and timeouts are retried; refusals are final', () => {
    expect(judge({ kind: 'network', error: 'connect ECONNREFUSED 127.0.0.1:9' })).toEqual({
      result: 'retry',
      statusCode: null,
      error: 'connect ECONNREFUSED 127.0.0.1:9',
    });
    expect(judge({ kind: 'timeout', error: 'No response within 500 ms' })).toMatchObject({
      result: 'retry',
      statusCode: null,
    });
    expect(judge({ kind: 'refused', error: 'Refused: 10.0.0.1 is a private address' })).toMatchObject({
      result: 'final',
      statusCode: null,
    });
  });
});

describe('backoffDelayMs', () => {
  it('doubles from the base: about 1 s, 2 s, 4 s ... for the default 1000 ms', () => {
    const middle = () => 0.5; // jitter factor exactly 1
    expect([1, 2, 3, 4, 5, 6, 7].map((retry) => backoffDelayMs(retry, 1000, middle))).toEqual([
      1000, 2000, 4000, 8000, 16000, 32000, 64000,
    ]);
  });

  it('is capped at 5 minutes', () => {
    expect(backoffDelayMs(9, 1000, () => 0.5)).toBe(256_000);
    expect(backoffDelayMs(10, 1000, () => 0.5)).toBe(maxBackoffMs);
    expect(backoffDelayMs(60, 1000, () => 0.5)).toBe(maxBackoffMs);
  });

  it('jitters by ±20%', () => {
    expect(backoffDelayMs(3, 1000, () => 0)).toBe(3200);
    expect(backoffDelayMs(3, 1000, () => 0.999999)).toBe(4800);
    const samples = Array.from({ length: 200 }, () => backoffDelayMs(2, 1000));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(1600);
    expect(Math.max(...samples)).toBeLessThanOrEqual(2400); // rounded
    expect(new Set(samples).size).toBeGreaterThan(10);
  });

  it('is never zero (Bull would retry at once)', () => {
    expect(backoffDelayMs(1, 1, () => 0)).toBe(1);
  });
});
