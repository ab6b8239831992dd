import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrowserContext, chromium } from 'playwright-core';
import { KEY, startTestApp, TestApp } from './utils';

/** Debian's chromium (scripts/install-deps-debian.sh); playwright-core brings no browser of its own. */
const CHROMIUM = '/usr/bin/chromium';
const isLoopback = (url: string) => /^(https?|wss?):\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?\//.test(url);

/** A first-time user in Swagger UI: Authorize with a key, open execute, "Try it out", Execute the prefilled body. */
describe('Swagger UI at /docs in headless Chromium', () => {
  let t: TestApp;
  let browser: BrowserContext;
  let baseUrl: string;
  const profileDir = mkdtempSync(join(tmpdir(), 'pyexec-chromium-'));
  const offLoopback: string[] = [];

  beforeAll(async () => {
    t = await startTestApp();
    await t.app.listen(0, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    // No Internet here, and tests talk to loopback only: these flags stop Chromium's own background traffic.
    // A fresh profile directory (Playwright passes it as --user-data-dir).
    browser = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    rmSync(profileDir, { recursive: true, force: true });
  });

  it('runs the prefilled execute example to a 200 after Authorize, from local assets only', async () => {
    const page = await browser.newPage();
    page.setDefaultTimeout(15_000); // a missing element fails with its selector, inside the test's time
    // Anything the page asks of a non-loopback address is refused and recorded (Swagger UI must be self-contained).
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (isLoopback(url) || url.startsWith('data:')) return route.continue();
      offLoopback.push(url);
      return route.abort();
    });
    await page.goto(`${baseUrl}/docs`);

    await page.locator('button.authorize').first().click();
    const modal = page.locator('.modal-ux');
    const apiKeyScheme = modal.locator('.auth-container').filter({ hasText: 'x-api-key' });
    await apiKeyScheme.locator('input').fill(KEY);
    await apiKeyScheme.locator('button[type=submit]').click(); // "Authorize" (aria-label "Apply credentials")
    await apiKeyScheme.getByRole('button', { name: 'Remove authorization' }).waitFor(); // "Logout": the key is set
    await modal.locator('button.close-modal').click();

    const operation = page.locator('#operations-execution-executePython');
    await operation.locator('.opblock-summary').click();
    await operation.getByRole('button', { name: 'Try it out' }).click();
    const prefilled = JSON.parse(await operation.locator('textarea.body-param__text').inputValue());
    expect(prefilled).toEqual({ code: 'print("Hello, World!")', timeout: 10, id: 'hello-1' });

    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${baseUrl}/v1/code/execute/python` && r.request().method() === 'POST'),
      operation.getByRole('button', { name: 'Execute', exact: true }).click(),
    ]);
    expect(response.request().headers()['x-api-key']).toBe(KEY);
    expect(response.status()).toBe(200);
    expect(await response.json()).toMatchObject({
      code: 200,
      id: 'hello-1',
      response: { stdout: 'Hello, World!\n', exit_code: 0 },
    });
    // ...and the page shows it.
    const shown = operation.locator('.live-responses-table tbody tr.response').first();
    await shown.waitFor();
    expect((await shown.locator('.response-col_status').textContent())?.trim()).toBe('200');
    expect(await shown.locator('.response-col_description').textContent()).toContain('Hello, World!');
    expect(offLoopback).toEqual([]);
  }, 60_000);
});
