import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';

// Every relative link and anchor in the documentation must land inside this repository, on a file
// that exists and, for `#anchor`, on a heading (GitHub's slug) or an HTML id of that file.

const repoRoot = resolve(__dirname, '..');

/** README.md, SECURITY.md, CHANGELOG.md and every Markdown file under docs/, repository-relative. */
function documentationFiles(): string[] {
  const top = ['README.md', 'SECURITY.md', 'CHANGELOG.md'].filter((file) => existsSync(join(repoRoot, file)));
  const docs = readdirSync(join(repoRoot, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.md'))
    .map((name) => join('docs', name));
  return [...top, ...docs];
}

/** The text outside fenced code blocks (indented ones in list items too): `# comment` is no heading. */
function withoutFences(markdown: string): string {
  return markdown.replace(/^[ \t]*(```|~~~)[^\n]*\n[\s\S]*?^[ \t]*\1[^\n]*$/gm, '');
}

/** The text outside fenced code blocks and inline code spans, where links live. */
export function proseOf(markdown: string): string {
  return withoutFences(markdown).replace(/(`+)[^`\n][\s\S]*?\1/g, '');
}

/** Link targets: inline `[text](target "title")`, images, and reference definitions `[x]: target`. */
export function linkTargets(markdown: string): string[] {
  const prose = proseOf(markdown);
  const inline = [...prose.matchAll(/\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]);
  const references = [...prose.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)].map((m) => m[1]);
  return [...inline, ...references];
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function headingSlugs(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const slugs = new Set<string>();
  const prose = withoutFences(markdown);
  for (const [, text] of prose.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const shown = text.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = shown
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    slugs.add(count === 0 ? base : `${base}-${count}`);
  }
  for (const [, id] of prose.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) slugs.add(id);
  return slugs;
}

/** Why a link of `file` (repository-relative) is broken, or null when it resolves inside the repository. */
export function brokenLink(file: string, target: string, root = repoRoot): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return null; // a website: fine
  const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
  const path = decodeURIComponent(pathPart);
  const resolved =
    path === '' ? join(root, file) : path.startsWith('/') ? join(root, path) : resolve(root, dirname(file), path);
  const inside = relative(root, resolved);
  if (inside.startsWith('..') || isAbsolute(inside)) return `${target}: leaves the repository`;
  if (!existsSync(resolved)) return `${target}: ${inside} does not exist`;
  if (anchor === undefined) return null;
  if (statSync(resolved).isDirectory() || !resolved.endsWith('.md'))
    return `${target}: an anchor into a file that is not Markdown`;
  if (!headingSlugs(readFileSync(resolved, 'utf8')).has(anchor)) return `${target}: no heading #${anchor} in ${inside}`;
  return null;
}

describe('documentation links', () => {
  it('all resolve inside the repository (files, and headings for anchors)', () => {
    const broken = documentationFiles().flatMap((file) =>
      linkTargets(readFileSync(join(repoRoot, file), 'utf8'))
        .map((target) => brokenLink(file, target))
        .filter((why): why is string => why !== null)
        .map((why) => `${file}: ${why}`),
    );
    expect(broken).toEqual([]);
  });

  it('covers the README, SECURITY.md, CHANGELOG.md and the docs/ pages', () => {
    const files = documentationFiles();
    expect(files).toEqual(
      expect.arrayContaining(['README.md', 'SECURITY.md', 'CHANGELOG.md', 'docs/configuration.md']),
    );
    expect(files.flatMap((file) => linkTargets(readFileSync(join(repoRoot, file), 'utf8'))).length).toBeGreaterThan(20);
  });
});

describe('the link checker', () => {
  it('finds inline links, titles and reference definitions, but not links inside code', () => {
    const text =
      'See [a](docs/a.md "A") and ![i](img.png).\n\n[ref]: ../b.md\n\n`[c](not-a-link.md)`\n\n```\n[d](code.md)\n```\n' +
      '- item\n\n  ```bash\n  [e](indented-code.md)\n  ```\n';
    expect(linkTargets(text)).toEqual(['docs/a.md', 'img.png', '../b.md']);
  });

  it('slugs headings as GitHub does, ignoring comment lines in code blocks', () => {
    const text =
      '# API\n## `error_code`\n## Durability, Redis outages and high availability\n## API\n```bash\n# not a heading\n```\n';
    expect([...headingSlugs(text)]).toEqual([
      'api',
      'error_code',
      'durability-redis-outages-and-high-availability',
      'api-1',
    ]);
  });

  it('refuses links that leave the repository, missing files and missing anchors; allows websites', () => {
    expect(brokenLink('README.md', '../shared/API.md')).toMatch(/leaves the repository/);
    expect(brokenLink('docs/api.md', '../../etc/passwd')).toMatch(/leaves the repository/);
    expect(brokenLink('README.md', 'docs/nowhere.md')).toMatch(/does not exist/);
    expect(brokenLink('README.md', 'docs/api.md#no-such-heading')).toMatch(/no heading/);
    expect(brokenLink('README.md', '#no-such-heading')).toMatch(/no heading/);
    expect(brokenLink('README.md', 'https://keepachangelog.com/en/1.1.0/')).toBeNull();
    expect(brokenLink('docs/api.md', '../README.md#api-at-a-glance')).toBeNull();
  });
});
