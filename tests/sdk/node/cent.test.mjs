// End-to-end tests of wsrpc's HTTP server API with the npm `cent.js` client (6.x,
// third-party), unchanged. Run with `node --test cent.test.mjs`.
//
// Each test starts its own sdk-fixture process (stdout `READY <port>`; the HTTP API is
// on the same port under /api) and talks to it with cent.js only. cent.js never looks
// at the HTTP status (protocol.md §10.4): an answer with an `error` object throws a
// CentException, a 401 with its empty body fails in res.json() with a SyntaxError.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { CentClient, CentException } from 'cent.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const FIXTURE = process.env.WSRPC_FIXTURE || path.join(REPO, 'target/debug/sdk-fixture');
const TIMEOUT_MS = 10_000; // hang guard for every wait
const API_KEY = 'sdk-test-api-key';
const NEWS = 'news:updates'; // namespace `news`: history on

/** Resolve with `promise`, or reject after TIMEOUT_MS naming what was awaited. */
function within(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${TIMEOUT_MS} ms waiting for ${what}`)), TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Run `body(apiUrl)` against a fresh fixture process, then make it quit. */
async function withFixture(body) {
  const proc = spawn(FIXTURE, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = once(proc, 'exit').catch(() => {}); // rejects if the spawn failed
  try {
    const lines = createInterface({ input: proc.stdout });
    const [ready] = await within(
      Promise.race([once(lines, 'line'), once(proc, 'error').then(([e]) => { throw e; })]),
      'fixture READY line',
    );
    assert.match(ready, /^READY \d+$/, `unexpected first fixture line: ${ready}`);
    await body(`http://127.0.0.1:${ready.split(' ')[1]}/api`);
  } finally {
    if (proc.pid !== undefined && proc.exitCode === null && proc.signalCode === null) {
      proc.stdin.end('{"cmd":"quit"}\n');
      await within(exited, 'fixture exit').catch(() => proc.kill('SIGKILL'));
    }
  }
}

test('cent.js publishes and reads the publication back from history', () => withFixture(async (url) => {
  const cent = new CentClient({ url, apiKey: API_KEY });
  const data = { headline: 'from cent.js', list: [1, 'two'], text: 'héllo ✓' };

  const published = await within(cent.publish({ channel: NEWS, data, tags: { k: 'v' } }), 'publish');
  assert.equal(published.offset, 1);
  assert.ok(published.epoch);

  const history = await within(cent.getHistory({ channel: NEWS, limit: 10 }), 'history');
  assert.deepEqual(history, {
    publications: [{ data, offset: 1, tags: { k: 'v' } }],
    offset: 1,
    epoch: published.epoch,
  });
}));

test('cent.js: an API error throws CentException; a wrong key publishes nothing', () => withFixture(async (url) => {
  const cent = new CentClient({ url, apiKey: API_KEY });

  await assert.rejects(within(cent.publish({ channel: 'nope:x', data: { x: 1 } }), 'publish to nope:x'), (e) => {
    assert.ok(e instanceof CentException);
    return true;
  });

  // 401 with an empty body: cent.js's res.json() rejects with a SyntaxError.
  const wrong = new CentClient({ url, apiKey: 'wrong-key' });
  await assert.rejects(within(wrong.publish({ channel: NEWS, data: { x: 1 } }), 'unauthorized publish'), SyntaxError);

  const history = await within(cent.getHistory({ channel: NEWS, limit: 10 }), 'history');
  assert.deepEqual(history.publications, []);
  assert.equal(history.offset, 0);
}));
