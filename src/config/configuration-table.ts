import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { AppConfig } from './app-config';
import { variablesOf } from './environment.variable';

// The configuration table of the docs, generated from the @Variable declarations of AppConfig:
// `npm run config-table` rewrites it between its markers; configuration-table.spec.ts fails when it drifts.

/** src/ and dist/ are both one level below this folder's parent: the project root is two up. */
const projectRoot = join(__dirname, '..', '..');
export const tableStart =
  '<!-- configuration-table: generated from src/config/app-config.ts by `npm run config-table` -->';
export const tableEnd = '<!-- /configuration-table -->';

/** Read by the OpenTelemetry SDK (src/tracing/), not by AppConfig; documented in the same table. */
const otelRows = [
  [
    '`OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`',
    '–',
    'set: traces are exported over OTLP (see [Tracing](operations.md#tracing)); unset: no OpenTelemetry code is even loaded',
  ],
  [
    'other `OTEL_*`',
    'SDK defaults',
    'the standard variables, read by the OpenTelemetry Node SDK: `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf` default, `http/json`, `grpc`), `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_SERVICE_NAME` (default here `pyexec-service`), `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`/`_ARG`, `OTEL_BSP_*`, `OTEL_SDK_DISABLED=true` (off), `OTEL_TRACES_EXPORTER=none` (off). `OTEL_METRICS_EXPORTER`/`OTEL_LOGS_EXPORTER` default to `none` here (metrics are Prometheus at `/metrics`)',
  ],
];

function shown(value: unknown): string {
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return '–';
  return typeof value === 'string' ? `\`${value}\`` : String(value);
}

/** The markdown table, markers included: one row per variable, in the order they are checked. */
export function configurationTable(): string {
  const defaults = new AppConfig() as unknown as Record<string, unknown>;
  const rows = variablesOf(AppConfig).map(({ name, property, description, options }) => [
    `\`${name}\``,
    options.shownDefault ?? shown(defaults[property]),
    description,
  ]);
  const lines = [...rows, ...otelRows].map((cells) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`);
  return [tableStart, '| variable | default | meaning |', '|---|---|---|', ...lines, tableEnd].join('\n');
}

/** The Markdown file that holds the table (its links are relative to docs/). */
export function tableFile(): string {
  return join(projectRoot, 'docs', 'configuration.md');
}

/** The table as the file has it now, markers included. */
export function documentedTable(text: string): string {
  const start = text.indexOf(tableStart);
  const end = text.indexOf(tableEnd, start);
  if (start < 0 || end < 0) throw new Error(`the configuration table needs both markers: ${tableStart} … ${tableEnd}`);
  return text.slice(start, end + tableEnd.length);
}

function main(): void {
  const file = tableFile();
  const text = readFileSync(file, 'utf8');
  writeFileSync(
    file,
    text.replace(documentedTable(text), () => configurationTable()),
  );
  console.log(`wrote the configuration table of ${relative(projectRoot, file)}`);
}

if (require.main === module) main();
