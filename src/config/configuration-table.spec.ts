import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { variablesOf } from './environment.variable';
import { AppConfig } from './app-config';
import { configurationTable, documentedTable, tableFile, tableStart } from './configuration-table';

describe('the configuration table of the docs', () => {
  it('is the one generated from the @Variable declarations (run `npm run config-table` after changing one)', () => {
    expect(documentedTable(readFileSync(tableFile(), 'utf8'))).toBe(configurationTable());
  });

  it('lives in docs/configuration.md and in no other Markdown file', () => {
    const root = join(__dirname, '..', '..');
    const others = [
      'README.md',
      'SECURITY.md',
      'CHANGELOG.md',
      ...readdirSync(join(root, 'docs')).map((f) => `docs/${f}`),
    ]
      .filter((file) => file.endsWith('.md') && file !== 'docs/configuration.md')
      .filter((file) => readFileSync(join(root, file), 'utf8').includes(tableStart));
    expect(tableFile()).toBe(join(root, 'docs', 'configuration.md'));
    expect(others).toEqual([]);
  });

  it("is summed up in the README by declared variables only, each with the table's default", () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    const summary = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Where to read on'));
    const declared = new Set(variablesOf(AppConfig).map((spec) => spec.name));
    const named = [...summary.matchAll(/^\| `([A-Z0-9_]+)`/gm)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter((name) => !declared.has(name))).toEqual([]);
    const table = configurationTable();
    for (const row of summary
      .split('\n')
      .filter((line) => /^\| `[A-Z0-9_]+` \| /.test(line) && !line.includes(' / '))) {
      const [, name, shownDefault] = /^\| `([A-Z0-9_]+)` \| ([^|]+) \|/.exec(row) ?? [];
      expect(table).toContain(`| \`${name}\` | ${shownDefault.trim()} |`);
    }
  });

  it('has a row per declared variable, in the order they are checked, with its default', () => {
    const rows = configurationTable()
      .split('\n')
      .filter((line) => line.startsWith('| `'));
    const names = variablesOf(AppConfig).map((spec) => spec.name);
    expect(rows.slice(0, names.length).map((row) => /^\| `([A-Z0-9_]+)`/.exec(row)?.[1])).toEqual(names);
    expect(rows).toContain('| `PORT` | 3000 | HTTP port (role `all`/`api`) |');
    expect(rows.find((row) => row.startsWith('| `REDIS_PREFIX` | `pyexec` |'))).toBeDefined();
    expect(rows.find((row) => row.startsWith('| `WEBHOOK_SECRET` | – |'))).toBeDefined();
  });
});
