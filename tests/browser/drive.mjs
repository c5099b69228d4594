// Drives Debian's Chromium through playwright-core for tests/browser.rs.
//
//   node drive.mjs <port> attacks|control
//
// Every host under vendo.run resolves to the proxy on 127.0.0.1:<port>,
// which serves TLS with a certificate the test made for *.vendo.run. The
// browser signs in to acme-crm.vendo.run (tenant A) and evil-x.vendo.run
// (tenant B), then plays B's attacks on A: `attacks` runs them all,
// `control` only the cookie tossing (against a proxy without the response
// filter, to show what the filter stops). Prints one JSON object on
// stdout: each step's response and the cookie jar at the end. The Rust
// test judges; this script only drives, and every wait is bounded.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [port, mode] = process.argv.slice(2);
if (!/^[0-9]+$/.test(port ?? '') || !['attacks', 'control'].includes(mode)) {
  console.error('usage: node drive.mjs <port> attacks|control');
  process.exit(64);
}

const A = 'https://acme-crm.vendo.run';
const B = 'https://evil-x.vendo.run';
const STEP_MS = 15_000;

// Whatever hangs, the driver ends by itself; the test has its own bound too.
const watchdog = setTimeout(() => {
  console.error('drive.mjs: gave up after 90 s');
  process.exit(3);
}, 90_000);

const profile = mkdtempSync(join(tmpdir(), 'vendo-chromium-'));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    timeout: 30_000,
    ignoreHTTPSErrors: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--host-resolver-rules=MAP *.vendo.run 127.0.0.1:${port}, MAP vendo.run 127.0.0.1:${port}`,
      '--ignore-certificate-errors',
    ],
  });
  context.setDefaultTimeout(STEP_MS);
  context.setDefaultNavigationTimeout(STEP_MS);
  const page = context.pages()[0] ?? (await context.newPage());
  const steps = [];

  const record = async (name, url, response) => {
    const body = await page.textContent('body').catch(() => '');
    steps.push({ name, url, status: response ? response.status() : 0, landed: page.url(), text: (body ?? '').trim() });
  };
  const visit = async (name, url) => record(name, url, await page.goto(url));
  // Waits for the response to `method url` that `act` causes.
  const after = async (name, method, url, act) => {
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url() === url && r.request().method() === method),
      act(),
    ]);
    await page.waitForLoadState('load');
    await record(name, url, response);
  };

  await visit('sign in to acme-crm', `${A}/_vendo/login`);
  await visit('sign in to evil-x', `${B}/_vendo/login`);
  if (mode === 'attacks') {
    await visit("acme-crm's page", `${A}/`);
    await after("acme-crm's own form", 'POST', `${A}/transfer`, () => page.click('#send'));
    // The page submits its form on load: return once it is committed.
    await after("evil-x's auto-submitting form", 'POST', `${A}/transfer`, () =>
      page.goto(`${B}/attack`, { waitUntil: 'commit' }),
    );
    await visit("evil-x's page", `${B}/`);
    await after("evil-x's link to acme-crm", 'GET', `${A}/?from=evil-x.vendo.run`, () => page.click('#go'));
  }
  await visit("evil-x's tool sets cookies", `${B}/set-cookies?every-spelling`);
  await visit('acme-crm afterwards', `${A}/?after=set-cookies`);
  await visit('evil-x afterwards', `${B}/?after=set-cookies`);

  const cookies = (await context.cookies()).map(({ name, value, domain, path, secure, httpOnly, sameSite }) => ({
    name,
    value,
    domain,
    path,
    secure,
    httpOnly,
    sameSite,
  }));
  process.stdout.write(`${JSON.stringify({ steps, cookies })}\n`);
} catch (error) {
  console.error(`drive.mjs: ${error && error.stack ? error.stack : error}`);
  process.exitCode = 1;
} finally {
  await context?.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
  clearTimeout(watchdog);
}
