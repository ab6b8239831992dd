import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tracingWanted } from './tracing-sdk';

const root = join(__dirname, '..', '..');

/**
 * Whether a fresh process has loaded the SDK or an instrumentation after importing tracing.js with
 * `env` (the build of src/ that Jest's globalSetup makes in dist-test/).
 */
function sdkLoadedAfterImport(env: Record<string, string>): boolean {
  const script = `require(${JSON.stringify(join(root, 'dist-test/tracing.js'))});
    const loaded = Object.keys(require.cache).filter((f) => f.includes('@opentelemetry/sdk-trace-node') || f.includes('instrumentation-http'));
    console.log(loaded.length > 0 ? 'loaded' : 'not loaded');
    process.exit(0);`;
  const out = execFileSync(process.execPath, ['-e', script], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    encoding: 'utf8',
  });
  return out.trim().split('\n').pop() === 'loaded';
}

describe('tracing bootstrap', () => {
  it('is wanted only with an OTLP endpoint, and not when disabled', () => {
    expect(tracingWanted({})).toBe(false);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: ' ' })).toBe(false);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(true);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).toBe(true);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' })).toBe(
      false,
    );
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_EXPORTER: 'none' })).toBe(
      false,
    );
  });

  it('loads no SDK and no instrumentation without an endpoint; loads them with one', () => {
    expect(sdkLoadedAfterImport({})).toBe(false);
    expect(
      sdkLoadedAfterImport({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' }),
    ).toBe(false);
    // Nothing is exported: the process exits before the first batch is due.
    expect(
      sdkLoadedAfterImport({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      }),
    ).toBe(true);
  });
});
