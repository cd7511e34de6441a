// The admin page (wirecall's, served by `tasks serve --admin-bind ADDR
// --admin-password PW`) in headless Chromium: a wrong password is refused;
// signed in, the page shows the connected test client and the method it
// called; a channel watched live receives what the page's command form
// publishes. Saves target/screenshots/admin-page.png.
// Waits are on page state; the timeouts are hang guards only.
//
// Needs: target/debug/tasks ($WIRECALL_TASKS), the generated TypeScript
// client built at target/clients/ts/tasks-client (tests/sdk/clients.sh),
// Chromium ($CHROMIUM, default /usr/bin/chromium).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const TASKS = process.env.WIRECALL_TASKS || path.join(REPO, 'target/debug/tasks');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const PASSWORD = 'admin-test-password';
const GUARD_MS = 15_000;

const { APIClient, CentrifugoRPCClient } = await import(
  pathToFileURL(path.join(REPO, 'target/clients/ts/tasks-client/dist/index.js')).href
);

/** Starts `tasks serve --dev` with the admin page; resolves with the
 * public address and the admin page's URL once both listen. */
async function startServer() {
  const proc = spawn(TASKS, ['serve', '--dev', '--bind', '127.0.0.1:0', '--log', 'warn',
    '--admin-bind', '127.0.0.1:0', '--admin-password', PASSWORD],
  { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout });
  const found = {};
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('tasks serve did not start')), GUARD_MS);
    proc.once('exit', (code) => reject(new Error(`tasks serve exited with ${code}`)));
    lines.on('line', (line) => {
      const listening = line.match(/^wirecall listening on ws:\/\/(\S+?)\//);
      if (listening) found.address = listening[1];
      const admin = line.match(/^admin page on (\S+)/);
      if (admin) found.admin = admin[1];
      if (found.address && found.admin) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { proc, ...found };
}

test('the admin page, in Chromium', { timeout: 60_000 }, async () => {
  const server = await startServer();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const token = await fetch(`http://${server.address}/dev/token?user=bob`)
    .then((r) => r.json()).then((b) => b.token);
  const bob = new CentrifugoRPCClient(`ws://${server.address}/connection/websocket`, token, 'bob',
    { websocket: WebSocket });
  // What reaches bob on his personal channel (subscribed by the server).
  const personal = bob.serverSide('personal:#bob');
  const received = new Promise((resolve) => personal.on(resolve));
  try {
    await bob.connect();
    assert.equal((await new APIClient(bob).usersWhoami()).user_id, 'bob');

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (error) => console.error('page error:', error));
    await page.goto(server.admin);

    // A wrong password is refused; the right one opens the dashboard.
    await page.fill('#password', 'not the password');
    await page.click('#sign-in');
    await page.locator('#login-error:not([hidden])').waitFor({ timeout: GUARD_MS });
    assert.equal(await page.locator('#dashboard').isHidden(), true);
    await page.fill('#password', PASSWORD);
    await page.click('#sign-in');
    await page.locator('#dashboard:not([hidden])').waitFor({ timeout: GUARD_MS });

    // The connected test client, and the method it called.
    await page.locator('#connections', { hasText: /^1$/ }).waitFor({ timeout: GUARD_MS });
    assert.equal(await page.locator('#users').textContent(), '1');
    const whoami = page.locator('#methods tr', { hasText: 'users.whoami' });
    await whoami.waitFor({ timeout: GUARD_MS });
    assert.equal(await whoami.locator('td').nth(1).textContent(), '1');
    await page.locator('#channels tr', { hasText: 'personal:#bob' }).waitFor({ timeout: GUARD_MS });

    // Watch bob's personal channel, publish into it from the command form:
    // the page shows it arrive, and so does bob.
    await page.fill('#watch-channel', 'personal:#bob');
    await page.click('#watch');
    await page.locator('#watch-state', { hasText: 'watching personal:#bob' })
      .waitFor({ timeout: GUARD_MS });
    await page.selectOption('#command-method', 'publish');
    await page.fill('#command-body', JSON.stringify({
      channel: 'personal:#bob',
      data: { type: 'message', message: 'Hello from the admin page' },
    }));
    await page.click('#run');
    await page.locator('#command-reply', { hasText: /^200 / }).waitFor({ timeout: GUARD_MS });
    await page.locator('#publications li', { hasText: 'Hello from the admin page' })
      .waitFor({ timeout: GUARD_MS });
    assert.equal((await received).message, 'Hello from the admin page');

    mkdirSync(path.join(REPO, 'target/screenshots'), { recursive: true });
    await page.screenshot({ path: path.join(REPO, 'target/screenshots/admin-page.png'), fullPage: true });
  } finally {
    bob.disconnect();
    await browser.close();
    server.proc.kill();
  }
});
