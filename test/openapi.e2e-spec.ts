import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generateOpenApiDocument, openApiPath, serializeOpenApi } from '../src/openapi';

const root = join(__dirname, '..');

describe('openapi/openapi.json', () => {
  it('equals what the decorators generate', async () => {
    const generated: unknown = JSON.parse(serializeOpenApi(await generateOpenApiDocument()));
    let committedText: string;
    try {
      committedText = readFileSync(openApiPath, 'utf8');
    } catch {
      throw new Error(`${openApiPath} is missing: run npm run openapi`);
    }
    const committed: unknown = JSON.parse(committedText);
    try {
      expect(generated).toEqual(committed);
      expect(committedText).toBe(serializeOpenApi(committed as never));
    } catch (error) {
      throw new Error(`openapi/openapi.json is out of date: run npm run openapi\n\n${(error as Error).message}`, {
        cause: error,
      });
    }
  });

  it('names every operation as API.md does', () => {
    const document = JSON.parse(readFileSync(openApiPath, 'utf8')) as {
      paths: Record<string, Record<string, { operationId: string }>>;
    };
    const ids = Object.values(document.paths).flatMap((path) =>
      Object.values(path).map((operation) => operation.operationId),
    );
    expect(ids.sort()).toEqual([
      'cancelJob',
      'editorCancelJob',
      'editorExecute',
      'editorGetJob',
      'editorListJobs',
      'executePython',
      'getJob',
      'getMetrics',
      'getRuntime',
      'healthLive',
      'healthReady',
      'listJobs',
    ]);
  });

  it('passes redocly lint with the recommended rules: 0 errors, 0 warnings', async () => {
    // redocly.yaml extends `recommended`; .redocly.lint-ignore.yaml lists the reviewed exceptions (README).
    const cli = join(root, 'node_modules/.bin/redocly');
    const { stdout } = await promisify(execFile)(cli, ['lint', '--format=json', 'openapi/openapi.json'], {
      cwd: root,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_NOTIFICATIONS: 'true' },
    }).catch((error: { stdout?: string; stderr?: string }) => ({ stdout: error.stdout ?? '', stderr: error.stderr }));
    const report = JSON.parse(stdout) as {
      totals: { errors: number; warnings: number };
      problems: Array<{ ruleId: string; message: string }>;
    };
    expect(report.problems.map((p) => `${p.ruleId}: ${p.message}`)).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });
});
