// The tasks page in headless Chromium (Debian's `chromium`, driven by
// playwright-core) against a real `tasks serve --dev` process: a task's bar
// reaches 100% and shows completed, and one that fails halfway turns red; a
// notification from the CLI and one sent by a second user through
// `notifications.send` appear as toasts with their text and colour. The
// generated publishers, from backends with no Rust in them: a plain Python
// script's notification is a toast, a Go program drives a pending task's bar
// through task(...), and Node's sendFile opens the file dialog whose Download
// opens the file in a new tab. After the server is killed and restarted the
// indicator shows reconnecting then connected, and a task run afterwards still
// updates. Saves target/screenshots/tasks-page.png. Another signs in with a
// session cookie (no token on the WebSocket). A last test runs two nodes on a
// real redis-server with `tasks worker`: the page on node 1 sees the worker's
// run fill the bar, and a notification sent through node 0 arrives. Waits are
// on page state; the timeouts are hang guards only.
//
// Needs: target/debug/tasks ($WIRECALL_TASKS), the generated clients installed
// by tests/sdk/clients.sh (target/clients/ts/tasks-client built,
// target/clients/py/tasks_client with its requirements in .venv-sdk, or
// $WIRECALL_PYTHON), Go, and Chromium ($CHROMIUM, default /usr/bin/chromium).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const TASKS = process.env.WIRECALL_TASKS || path.join(REPO, 'target/debug/tasks');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SECRET = 'page-test-secret';
const API_KEY = 'page-test-api-key';
const GUARD_MS = 15_000;

const { APIClient, CentrifugoRPCClient } = await import(
  pathToFileURL(path.join(REPO, 'target/clients/ts/tasks-client/dist/index.js')).href
);
const { Publisher } = await import(
  pathToFileURL(path.join(REPO, 'target/clients/ts/tasks-client/dist/publisher.js')).href
);
/** The example backends that publish to the page (Python, Go). */
const BACKENDS = path.join(REPO, 'examples/tasks/backends');
/** A Python with the generated package's requirements (tests/sdk/install.sh). */
const PYTHON = process.env.WIRECALL_PYTHON || path.join(REPO, '.venv-sdk/bin/python');

/** Starts `tasks serve --dev` on `bind` (with `extra` arguments, e.g. a
 * shared `--redis`); resolves once it listens. */
async function startServer(bind = '127.0.0.1:0', extra = []) {
  const proc = spawn(TASKS, ['serve', '--dev', '--bind', bind, '--secret', SECRET,
    '--api-key', API_KEY, '--log', 'warn', ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout });
  const address = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('tasks serve did not start')), GUARD_MS);
    proc.once('exit', (code) => reject(new Error(`tasks serve exited with ${code}`)));
    lines.on('line', (line) => {
      const found = line.match(/^wirecall listening on ws:\/\/(\S+?)\//);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
  });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  return { proc, address, exited };
}

/** Runs the tasks CLI against `address`'s HTTP API. */
async function cli(address, ...args) {
  const { stdout } = await promisify(execFile)(TASKS, [...args,
    '--api-url', `http://${address}/api`, '--api-key', API_KEY]);
  return stdout;
}

async function colour(locator) {
  return locator.evaluate((node) => getComputedStyle(node).backgroundColor);
}

test('the tasks page, end to end in Chromium', { timeout: 300_000 }, async () => {
  let server = await startServer();
  const { address } = server;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const bob = new CentrifugoRPCClient(`ws://${address}/connection/websocket`,
    await fetch(`http://${address}/dev/token?user=bob`).then((r) => r.json()).then((b) => b.token),
    'bob', { websocket: WebSocket });
  try {
    const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
    const page = await context.newPage();
    page.on('pageerror', (error) => console.error('page error:', error));
    await page.goto(`http://${address}/?user=alice`);
    const indicator = page.locator('#connection');
    await page.locator('#connection[data-state="connected"]').waitFor({ timeout: GUARD_MS });
    assert.equal(await page.locator('#user').textContent(), 'alice');

    // Create and run a task: its bar moves to 100% and it shows completed.
    const runTask = async (title) => {
      await page.fill('input[name="title"]', title);
      await page.fill('input[name="steps"]', '4');
      await page.click('#create-task button[type="submit"]');
      const task = page.locator('.task', { hasText: title });
      await task.locator('xpath=self::*[@data-status="completed"]').waitFor({ timeout: GUARD_MS });
      assert.equal(await task.getAttribute('data-progress'), '100');
      assert.equal(await task.locator('.fill').evaluate((n) => n.style.width), '100%');
      assert.equal(await task.locator('.status').textContent(), 'completed');
    };
    await runTask('Quarterly report');

    // Comments, a typed channel family the page publishes into: a second tab
    // of the same user sees a comment live.
    const second = await context.newPage();
    second.on('pageerror', (error) => console.error('page error:', error));
    await second.goto(`http://${address}/?user=alice`);
    const reportThere = second.locator('.task', { hasText: 'Quarterly report' });
    await reportThere.locator('form.comment[data-live="true"]').waitFor({ timeout: GUARD_MS });
    const report = page.locator('.task', { hasText: 'Quarterly report' });
    await report.locator('form.comment input').fill('Numbers look right');
    await report.locator('form.comment button').click();
    await report.locator('.comments li', { hasText: 'Numbers look right' }).waitFor({ timeout: GUARD_MS });
    await reportThere.locator('.comments li', { hasText: 'Numbers look right' }).waitFor({ timeout: GUARD_MS });
    assert.equal(await report.locator('form.comment input').inputValue(), '');
    // The server checks each publication against TaskComment: a wrong shape
    // (sent by hand through the generated client) is refused with 107 and
    // reaches no tab.
    const aliceInNode = new CentrifugoRPCClient(`ws://${address}/connection/websocket`,
      await fetch(`http://${address}/dev/token?user=alice`).then((r) => r.json()).then((b) => b.token),
      'alice', { websocket: WebSocket });
    await aliceInNode.connect();
    try {
      const comments = await new APIClient(aliceInNode).subscribeTaskComments({
        taskId: await report.getAttribute('data-task-id'), owner: 'alice',
      });
      await assert.rejects(comments.publish({ note: 'no text' }), (error) => {
        assert.equal(error.code, 107);
        assert.match(error.message, /missing field `text`/);
        return true;
      });
      await comments.publish({ text: 'From Node' });
      await reportThere.locator('.comments li', { hasText: 'From Node' }).waitFor({ timeout: GUARD_MS });
      assert.equal(await reportThere.locator('.comments li').count(), 2);
    } finally {
      aliceInNode.disconnect();
      await second.close();
    }

    // A run that fails halfway: task_error turns the bar red with its message.
    await page.fill('input[name="title"]', 'Doomed import');
    await page.fill('input[name="steps"]', '4');
    await page.check('input[name="fail"]');
    await page.click('#create-task button[type="submit"]');
    const doomed = page.locator('.task', { hasText: 'Doomed import' });
    await doomed.locator('xpath=self::*[@data-status="failed"]').waitFor({ timeout: GUARD_MS });
    assert.equal(await doomed.getAttribute('data-progress'), '25');
    assert.equal(await doomed.locator('.status').textContent(), 'failed');
    assert.equal(await doomed.locator('.detail').textContent(), 'The run failed (fail_at)');
    assert.equal(await colour(doomed.locator('.fill')), 'rgb(220, 38, 38)');
    // The run's own success notification.
    const done = page.locator('.toast[data-kind="success"]', { hasText: 'is done' });
    await done.waitFor({ timeout: GUARD_MS });

    // A notification from the CLI: a green toast with its text.
    assert.match(await cli(address, 'notify', '--user', 'alice', '--message', 'Hello from the CLI',
      '--type', 'success', '--title', 'CLI'), /delivered/);
    const fromCli = page.locator('.toast', { hasText: 'Hello from the CLI' });
    await fromCli.waitFor({ timeout: GUARD_MS });
    assert.equal(await fromCli.getAttribute('data-kind'), 'success');
    assert.equal(await colour(fromCli), 'rgb(22, 163, 74)');

    // notifications.send by a second user (the generated client, in Node):
    // an orange warning toast.
    const bobApi = new APIClient(bob);
    await bob.connect();
    const sent = await bobApi.notificationsSend({
      to_user: 'alice', message: 'Lunch at noon?', notification_type: 'warning', title: 'From bob',
    });
    assert.equal(sent.delivered, true);
    const fromBob = page.locator('.toast', { hasText: 'Lunch at noon?' });
    await fromBob.waitFor({ timeout: GUARD_MS });
    assert.equal(await fromBob.getAttribute('data-kind'), 'warning');
    assert.equal(await colour(fromBob), 'rgb(234, 88, 12)');
    assert.match(await fromBob.textContent(), /From bob/);

    // Publishing from backends with the generated publishers, no Rust in
    // those processes. A plain Python script (examples/tasks/backends/
    // notify.py): a blue info toast.
    const backendEnv = {
      ...process.env, PYTHONPATH: path.join(REPO, 'target/clients/py'),
      WIRECALL_API_URL: `http://${address}/api`, WIRECALL_API_KEY: API_KEY,
    };
    const { stdout: notified } = await promisify(execFile)(PYTHON, [path.join(BACKENDS, 'notify.py'),
      'alice', 'Hello from a Python script', '--title', 'Backend'], { env: backendEnv });
    assert.equal(notified.trim(), 'delivered');
    const fromPython = page.locator('.toast', { hasText: 'Hello from a Python script' });
    await fromPython.waitFor({ timeout: GUARD_MS });
    assert.equal(await fromPython.getAttribute('data-kind'), 'info');
    assert.match(await fromPython.textContent(), /Backend/);

    // A Go program (examples/tasks/backends/progress) drives the bar of a
    // pending task through task(...), one event per line it reads: the page
    // follows pending tasks after a reload.
    const alice = new CentrifugoRPCClient(`ws://${address}/connection/websocket`,
      await fetch(`http://${address}/dev/token?user=alice`).then((r) => r.json()).then((b) => b.token),
      'alice', { websocket: WebSocket });
    await alice.connect();
    const pending = await new APIClient(alice).tasksCreate({ title: 'Import run by Go', steps: 2 });
    alice.disconnect();
    const progressBin = path.join(REPO, 'target/tasks-progress');
    await promisify(execFile)('go', ['build', '-o', progressBin, '.'], { cwd: path.join(BACKENDS, 'progress') });
    await page.reload();
    const byGo = page.locator(`.task[data-task-id="${pending.id}"]`);
    await byGo.locator('xpath=self::*[@data-following="true" and @data-status="pending"]').waitFor({ timeout: GUARD_MS });
    const go = spawn(progressBin, ['-task', pending.id, '-owner', 'alice', '-steps', '2', '-step-on-input'],
      { env: backendEnv, stdio: ['pipe', 'ignore', 'inherit'] });
    const goExit = new Promise((resolve) => go.once('exit', resolve));
    try {
      await byGo.locator('xpath=self::*[@data-status="running" and @data-progress="50"]').waitFor({ timeout: GUARD_MS });
      assert.equal(await byGo.locator('.fill').evaluate((n) => n.style.width), '50%');
      go.stdin.write('\n');
      await byGo.locator('xpath=self::*[@data-status="running" and @data-progress="100"]').waitFor({ timeout: GUARD_MS });
      go.stdin.write('\n');
      await byGo.locator('xpath=self::*[@data-status="completed"]').waitFor({ timeout: GUARD_MS });
      assert.equal(await goExit, 0);
    } finally {
      go.kill();
    }

    // A long run, caught mid-way for the screenshot.
    await page.fill('input[name="title"]', 'Nightly export');
    await page.fill('input[name="steps"]', '100');
    await page.click('#create-task button[type="submit"]');
    const nightly = page.locator('.task', { hasText: 'Nightly export' });
    await nightly.locator('xpath=self::*[@data-status="running" and number(@data-progress) >= 5]')
      .waitFor({ timeout: GUARD_MS });
    mkdirSync(path.join(REPO, 'target/screenshots'), { recursive: true });
    await page.screenshot({ path: path.join(REPO, 'target/screenshots/tasks-page.png') });

    // A user.file from a Node backend (the generated publisher's sendFile):
    // the dialog with name and size; its Download opens the file in a new tab.
    const fileUrl = `http://${address}/health`;
    const publisher = new Publisher({ apiUrl: `http://${address}/api`, apiKey: API_KEY });
    assert.equal(await publisher.sendFile('alice', fileUrl,
      { fileName: 'report.csv', fileSize: 2048, message: 'Your export is ready' }), true);
    const dialog = page.locator('#file-dialog[open]');
    await dialog.waitFor({ timeout: GUARD_MS });
    assert.equal(await dialog.locator('.file-name').textContent(), 'report.csv');
    assert.equal(await dialog.locator('.file-size').textContent(), '(2.0 KB)');
    assert.equal(await dialog.locator('.file-message').textContent(), 'Your export is ready');
    const [download] = await Promise.all([
      context.waitForEvent('page', { timeout: GUARD_MS }),
      dialog.locator('.download').click(),
    ]);
    await download.waitForLoadState();
    assert.equal(download.url(), fileUrl);
    assert.match(await download.content(), /ok/i);
    await download.close();
    await page.locator('#file-dialog:not([open])').waitFor({ state: 'attached', timeout: GUARD_MS });

    // Kill the server: the page shows reconnecting; restart it on the same
    // port: connected again, and a new task still updates.
    bob.disconnect();
    server.proc.kill('SIGKILL');
    await server.exited;
    await page.locator('#connection[data-state="reconnecting"]').waitFor({ timeout: GUARD_MS });
    assert.equal(await indicator.textContent(), 'reconnecting…');
    server = await startServer(address);
    await page.locator('#connection[data-state="connected"]').waitFor({ timeout: GUARD_MS });
    await runTask('After the restart');
  } finally {
    bob.disconnect();
    await browser.close();
    server.proc.kill('SIGKILL');
  }
});

/** A free port on 127.0.0.1. */
async function freePort() {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A redis-server (Debian's package) on a free port, in a fresh directory. */
async function startRedis() {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'tasks-page-redis-'));
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1',
    '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis-server did not start')), GUARD_MS);
    proc.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
    lines.on('line', (line) => {
      if (/Ready to accept connections/.test(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { proc, url: `redis://127.0.0.1:${port}` };
}

test('a session cookie signs the page in, and its WebSocket carries no token', { timeout: 60_000 }, async () => {
  const server = await startServer();
  const { address } = server;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage();
    page.on('pageerror', (error) => console.error('page error:', error));
    // Every command the page writes on its WebSockets, and any token fetch.
    const commands = [];
    page.on('websocket', (ws) => ws.on('framesent', ({ payload }) => {
      for (const line of String(payload).split('\n').filter(Boolean)) commands.push(JSON.parse(line));
    }));
    const tokenFetches = [];
    page.on('request', (request) => {
      if (request.url().includes('/dev/token')) tokenFetches.push(request.url());
    });

    // No token and no session: the page asks who you are.
    await page.goto(`http://${address}/`);
    await page.locator('#sign-in').waitFor({ state: 'visible', timeout: GUARD_MS });
    await page.fill('#sign-in input[name="user"]', 'carol');
    await page.click('#sign-in button[type="submit"]');
    await page.locator('#connection[data-state="connected"]').waitFor({ timeout: GUARD_MS });
    assert.equal(await page.locator('#user').textContent(), 'carol');
    assert.equal(await page.locator('#sign-in').isVisible(), false);
    // The session lives in an HttpOnly cookie the page's script cannot read.
    assert.equal(await page.evaluate(() => document.cookie), '');
    const connects = commands.filter((command) => command.connect);
    assert.ok(connects.length >= 1);
    for (const { connect } of connects) assert.equal(connect.token, undefined);
    assert.deepEqual(tokenFetches, []);

    // The server knows the connection as carol: her own task channel
    // (tasks:<id>#carol) is hers to follow, and the run completes.
    await page.fill('input[name="title"]', 'Signed in by cookie');
    await page.fill('input[name="steps"]', '3');
    await page.click('#create-task button[type="submit"]');
    const task = page.locator('.task', { hasText: 'Signed in by cookie' });
    await task.locator('xpath=self::*[@data-status="completed"]').waitFor({ timeout: GUARD_MS });

    // A reload stays signed in; signing out asks again.
    await page.reload();
    await page.locator('#connection[data-state="connected"]').waitFor({ timeout: GUARD_MS });
    assert.equal(await page.locator('#user').textContent(), 'carol');
    await page.locator('.task', { hasText: 'Signed in by cookie' }).waitFor({ timeout: GUARD_MS });
    await page.click('#sign-out');
    await page.locator('#sign-in').waitFor({ state: 'visible', timeout: GUARD_MS });

    // A made-up session is no one: the server closes with 3501.
    const forged = new WebSocket(`ws://${address}/connection/websocket`,
      { headers: { Cookie: 'tasks_session=0123456789abcdef' } });
    await new Promise((resolve) => forged.once('open', resolve));
    forged.send(JSON.stringify({ id: 1, connect: {} }));
    const [code] = await new Promise((resolve) => forged.once('close', (...args) => resolve(args)));
    assert.equal(code, 3501);
  } finally {
    await browser.close();
    server.proc.kill('SIGKILL');
  }
});

test('two nodes on Redis with a worker: the page on either node sees the bar fill', { timeout: 120_000 }, async () => {
  const redis = await startRedis();
  const redisArgs = ['--redis', redis.url];
  const nodes = [await startServer('127.0.0.1:0', redisArgs), await startServer('127.0.0.1:0', redisArgs)];
  const worker = spawn(TASKS, ['worker', ...redisArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('tasks worker did not start')), GUARD_MS);
    createInterface({ input: worker.stdout }).on('line', (line) => {
      if (line.startsWith('tasks worker:')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage();
    page.on('pageerror', (error) => console.error('page error:', error));
    // The page is on node 1; the worker runs the task and publishes
    // through Redis.
    await page.goto(`http://${nodes[1].address}/?user=alice`);
    await page.locator('#connection[data-state="connected"]').waitFor({ timeout: GUARD_MS });
    await page.fill('input[name="title"]', 'Run by the worker');
    await page.fill('input[name="steps"]', '4');
    await page.click('#create-task button[type="submit"]');
    const task = page.locator('.task', { hasText: 'Run by the worker' });
    await task.locator('xpath=self::*[@data-status="completed"]').waitFor({ timeout: GUARD_MS });
    assert.equal(await task.getAttribute('data-progress'), '100');
    await page.locator('.toast[data-kind="success"]', { hasText: 'is done' }).waitFor({ timeout: GUARD_MS });
    // A notification sent through node 0's API reaches the page on node 1.
    assert.match(await cli(nodes[0].address, 'notify', '--user', 'alice', '--message', 'From node 0',
      '--type', 'info'), /delivered/);
    await page.locator('.toast', { hasText: 'From node 0' }).waitFor({ timeout: GUARD_MS });
  } finally {
    await browser.close();
    worker.kill('SIGKILL');
    for (const node of nodes) node.proc.kill('SIGKILL');
    redis.proc.kill('SIGKILL');
  }
});
