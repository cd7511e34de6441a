// End-to-end tests: the official centrifuge-js SDK (npm `centrifuge`) against the
// wsrpc sdk-fixture server. Run with `node --test sdk.test.mjs`.
//
// Each test starts its own fixture process, talks to it over stdin/stdout (mint
// tokens, publish from the server side, restart) and drives a real SDK client.
// Tests wait on SDK events (queues fed by the SDK callbacks); timeouts are only
// hang guards.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { Centrifuge } from 'centrifuge';
import WebSocket from 'ws';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const FIXTURE = process.env.WSRPC_FIXTURE || path.join(REPO, 'target/debug/sdk-fixture');
const TIMEOUT_MS = 10_000; // hang guard for every wait

const USER = 'u1';
const NEWS = 'news:updates'; // a channel in the `news` namespace

// ---------------------------------------------------------------------------
// helpers

/** Resolve with `promise`, or reject after TIMEOUT_MS naming what was awaited. */
function within(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${TIMEOUT_MS} ms waiting for ${what}`)), TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A FIFO of events: push() from callbacks, `await next()` in tests. */
class Queue {
  constructor(name) {
    this.name = name;
    this.items = [];
    this.waiters = [];
    this.error = null;
  }

  push(item) {
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(item);
    else this.items.push(item);
  }

  fail(error) {
    this.error = error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  get size() {
    return this.items.length;
  }

  next(what = this.name) {
    if (this.items.length > 0) return Promise.resolve(this.items.shift());
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`timed out after ${TIMEOUT_MS} ms waiting for ${what}`));
      }, TIMEOUT_MS);
      waiter.resolve = (item) => { clearTimeout(timer); resolve(item); };
      waiter.reject = (error) => { clearTimeout(timer); reject(error); };
      this.waiters.push(waiter);
    });
  }
}

/** One sdk-fixture process: `READY <port>` on stdout, then one JSON command per line. */
class Fixture {
  static async start() {
    const fx = new Fixture(spawn(FIXTURE, [], { stdio: ['pipe', 'pipe', 'pipe'] }));
    const ready = await fx.lines.next('fixture READY line');
    assert.match(ready, /^READY \d+$/, `unexpected first fixture line: ${ready}`);
    fx.url = `ws://127.0.0.1:${ready.split(' ')[1]}/connection/websocket`;
    return fx;
  }

  constructor(proc) {
    this.proc = proc;
    this.clients = [];
    this.stderr = '';
    this.lines = new Queue('fixture output');
    this.chain = Promise.resolve();
    this.exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.on('error', (e) => this.lines.fail(new Error(`fixture ${FIXTURE}: ${e.message}`)));
    proc.once('exit', (code) => this.lines.fail(new Error(`fixture exited with ${code}`)));
    proc.stderr.on('data', (chunk) => { this.stderr += chunk; });
    createInterface({ input: proc.stdout }).on('line', (line) => this.lines.push(line));
  }

  /** Send one command, resolve with the JSON after `OK `; `ERR ...` rejects. */
  cmd(command) {
    const result = this.chain.then(async () => {
      this.proc.stdin.write(JSON.stringify(command) + '\n');
      const line = await this.lines.next(`fixture answer to ${JSON.stringify(command)}`);
      if (!line.startsWith('OK ')) throw new Error(`fixture command ${JSON.stringify(command)} failed: ${line}`);
      return JSON.parse(line.slice(3));
    });
    this.chain = result.catch(() => {});
    return result;
  }

  token(user = USER, expIn = 3600, extra = {}) {
    return this.cmd({ cmd: 'token', user, exp_in: expIn, ...extra });
  }

  publish(channel, data) {
    return this.cmd({ cmd: 'publish', channel, data });
  }

  /** A client of this fixture; short reconnect delays keep the restart test quick. */
  client(options = {}) {
    const client = new Centrifuge(this.url, {
      websocket: WebSocket,
      minReconnectDelay: 50,
      maxReconnectDelay: 500,
      ...options,
    });
    this.clients.push(client);
    return client;
  }

  async stop() {
    for (const client of this.clients) client.disconnect();
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.stdin.end('{"cmd":"quit"}\n');
      let timer;
      const quit = await Promise.race([
        this.exited.then(() => true),
        new Promise((resolve) => { timer = setTimeout(resolve, 5000, false); }),
      ]);
      clearTimeout(timer);
      if (!quit) {
        this.proc.kill('SIGKILL');
        await this.exited;
      }
    }
  }
}

/** Run `body` with a fresh fixture; print the fixture's stderr if the test fails. */
async function withFixture(body) {
  const fx = await Fixture.start();
  try {
    await body(fx);
  } catch (e) {
    if (fx.stderr) console.error(`--- fixture stderr ---\n${fx.stderr}--- end of fixture stderr ---`);
    throw e;
  } finally {
    await fx.stop();
  }
}

/** Record client-level events into queues. */
function recordClient(client) {
  const ev = {
    connecting: new Queue('connecting event'),
    connected: new Queue('connected event'),
    disconnected: new Queue('disconnected event'),
    serverSubscribed: new Queue('server-side subscribed event'),
    publications: new Queue('client-level publication'),
    errors: [], // an 'error' listener is required: the SDK's emitter throws without one
  };
  client.on('connecting', (ctx) => ev.connecting.push(ctx));
  client.on('connected', (ctx) => ev.connected.push(ctx));
  client.on('disconnected', (ctx) => ev.disconnected.push(ctx));
  client.on('subscribed', (ctx) => ev.serverSubscribed.push(ctx));
  client.on('publication', (ctx) => ev.publications.push(ctx));
  client.on('error', (ctx) => ev.errors.push(ctx));
  return ev;
}

/** Record subscription events into queues. */
function recordSub(sub) {
  const ev = {
    subscribed: new Queue(`subscribed event on ${sub.channel}`),
    unsubscribed: new Queue(`unsubscribed event on ${sub.channel}`),
    publications: new Queue(`publication on ${sub.channel}`),
    errors: [], // an 'error' listener is required: the SDK's emitter throws without one
  };
  sub.on('error', (ctx) => ev.errors.push(ctx));
  sub.on('subscribed', (ctx) => ev.subscribed.push(ctx));
  sub.on('unsubscribed', (ctx) => ev.unsubscribed.push(ctx));
  sub.on('publication', (ctx) => ev.publications.push(ctx));
  return ev;
}

/** A client connected with a valid token for `user`. */
async function connectedClient(fx, user = USER, options = {}) {
  const client = fx.client({ token: await fx.token(user), ...options });
  const ev = recordClient(client);
  client.connect();
  const ctx = await ev.connected.next();
  return { client, ev, clientId: ctx.client };
}

/** A subscription to `channel` that reached subscribed. */
async function subscribed(client, channel, options = {}) {
  const sub = client.newSubscription(channel, options);
  const ev = recordSub(sub);
  sub.subscribe();
  const ctx = await ev.subscribed.next();
  return { sub, ev, ctx };
}

// ---------------------------------------------------------------------------
// tests

test('connect with a valid token; test.whoami returns the user', () => withFixture(async (fx) => {
  // A valid token connects; test.whoami reports the token's user and this client id.
  const { client, clientId } = await connectedClient(fx);
  assert.equal(client.state, 'connected');
  assert.ok(clientId);
  const result = await within(client.rpc('test.whoami', {}), 'whoami rpc');
  assert.deepEqual(result.data, { user: USER, client: clientId });
}));

test('a token with a bad signature is refused (3500, no reconnect)', () => withFixture(async (fx) => {
  // The server closes with 3500, which is terminal for the SDK.
  const client = fx.client({ token: await fx.token(USER, 3600, { bad_signature: true }) });
  const ev = recordClient(client);
  client.connect();
  const ctx = await ev.disconnected.next();
  assert.deepEqual({ code: ctx.code, reason: ctx.reason }, { code: 3500, reason: 'invalid token' });
  // 'disconnected' is terminal: the SDK schedules reconnects only while connecting.
  assert.equal(client.state, 'disconnected');
  assert.equal(ev.connected.size, 0);
}));

test('an expired token makes the SDK call getToken, then connect', () => withFixture(async (fx) => {
  // The server answers 109; the SDK asks getToken for a new token and connects with it.
  const expired = await fx.token(USER, -60);
  const fresh = await fx.token(USER);
  let calls = 0;
  const client = fx.client({ token: expired, getToken: async () => { calls += 1; return fresh; } });
  const ev = recordClient(client);
  client.connect();
  const ctx = await ev.connected.next('connected event after token refresh');
  assert.equal(calls, 1);
  assert.ok(ev.errors.some((e) => e.type === 'connect' && e.error.code === 109), JSON.stringify(ev.errors));
  const result = await within(client.rpc('test.whoami', {}), 'whoami rpc');
  assert.deepEqual(result.data, { user: USER, client: ctx.client });
}));

test('rpc success (test.echo) and failure (test.fail)', () => withFixture(async (fx) => {
  // test.echo round-trips a nested object; test.fail rejects with {code: 1001, message}.
  const { client } = await connectedClient(fx);
  const payload = {
    a: 1,
    nested: { list: [1, 'two', { three: 3.5 }], flag: true, nothing: null },
    text: 'héllo ✓',
  };
  const result = await within(client.rpc('test.echo', payload), 'echo rpc');
  assert.deepEqual(result.data, payload);

  let error;
  try {
    await within(client.rpc('test.fail', {}), 'fail rpc');
  } catch (e) {
    error = e;
  }
  assert.ok(error, 'test.fail must reject');
  assert.deepEqual({ code: error.code, message: error.message }, { code: 1001, message: 'custom app error' });
  assert.equal(client.state, 'connected'); // RPC errors never disconnect
}));

test('subscribe to news; a server publish is received', () => withFixture(async (fx) => {
  // A server-side publish reaches the subscription with exactly the published data.
  const { client } = await connectedClient(fx);
  const { ev } = await subscribed(client, NEWS);
  const data = { headline: 'hello', tags: ['a', 'b'], n: 1 };
  await fx.publish(NEWS, data);
  const ctx = await ev.publications.next();
  assert.equal(ctx.channel, NEWS);
  assert.deepEqual(ctx.data, data);
}));

test('personal channel publication reaches the client-level handler', () => withFixture(async (fx) => {
  // The server subscribes the client to personal:#u1; the client does nothing itself.
  const { ev } = await connectedClient(fx);
  const channel = `personal:#${USER}`;
  const sub = await ev.serverSubscribed.next();
  assert.equal(sub.channel, channel);
  const data = { note: 'for you only' };
  await fx.cmd({ cmd: 'personal', user: USER, data });
  const ctx = await ev.publications.next();
  assert.equal(ctx.channel, channel);
  assert.deepEqual(ctx.data, data);
}));

test('presence, presence stats and history', () => withFixture(async (fx) => {
  // Presence lists this client; stats count 1 client / 1 user; history returns the
  // 3 publications in order with their offsets.
  const { client, clientId } = await connectedClient(fx);
  const { sub } = await subscribed(client, NEWS);

  const presence = await within(sub.presence(), 'presence');
  assert.ok(clientId in presence.clients, JSON.stringify(presence));
  assert.equal(presence.clients[clientId].user, USER);
  assert.equal(presence.clients[clientId].client, clientId);

  const stats = await within(sub.presenceStats(), 'presence stats');
  assert.deepEqual({ ...stats }, { numClients: 1, numUsers: 1 });

  const sent = [{ h: 1 }, { h: 2 }, { h: 3 }];
  const offsets = [];
  for (const data of sent) offsets.push((await fx.publish(NEWS, data)).offset);
  const history = await within(sub.history({ limit: 10 }), 'history');
  assert.deepEqual(history.publications.map((p) => p.data), sent);
  assert.deepEqual(history.publications.map((p) => p.offset), offsets);
  assert.deepEqual(offsets, [offsets[0], offsets[0] + 1, offsets[0] + 2]);
  assert.equal(history.offset, offsets[2]);
  assert.ok(history.epoch);
}));

test('subscribing to chat:#other_user is refused with 103, nope:x with 102', () => withFixture(async (fx) => {
  // Permission denied for a user-limited channel of someone else; unknown namespace.
  const { client } = await connectedClient(fx);
  for (const [channel, code] of [['chat:#other_user', 103], ['nope:x', 102]]) {
    const sub = client.newSubscription(channel);
    const ev = recordSub(sub);
    sub.subscribe();
    const ctx = await ev.unsubscribed.next();
    assert.equal(ctx.code, code, `${channel}: ${JSON.stringify(ctx)}`);
    assert.equal(ev.subscribed.size, 0);
  }
}));

test('restart: the SDK reconnects and recovers exactly the missed publications', () => withFixture(async (fx) => {
  // After a server restart (close 3001) the SDK reconnects, resubscribes with
  // recovery and gets exactly the 3 publications made while it was away, in order.
  const { client, ev } = await connectedClient(fx);
  const { ev: subEv, ctx: first } = await subscribed(client, NEWS, { recoverable: true, positioned: true });
  assert.equal(first.recoverable, true);
  assert.equal(first.wasRecovering, false);

  await fx.publish(NEWS, { n: 0 });
  const before = await subEv.publications.next('publication before restart');
  assert.deepEqual(before.data, { n: 0 });

  const missed = [{ n: 1 }, { n: 2 }, { n: 3 }];
  await fx.cmd({ cmd: 'restart', publish: missed.map((data) => ({ channel: NEWS, data })) });

  // Connecting events: the one from connect(), then the server's shutdown close.
  await ev.connecting.next('connecting event from connect()');
  const shutdown = await ev.connecting.next('connecting event after restart');
  assert.equal(shutdown.code, 3001);

  const again = await subEv.subscribed.next('subscribed event after restart');
  assert.equal(again.wasRecovering, true);
  assert.equal(again.recovered, true);

  const got = [];
  for (let i = 0; i < missed.length; i++) got.push(await subEv.publications.next('recovered publication'));
  assert.deepEqual(got.map((p) => p.data), missed);
  assert.deepEqual(got.map((p) => p.offset), [1, 2, 3].map((i) => before.offset + i));

  // Nothing else was delivered: the next thing the subscription sees is a new publish.
  await fx.publish(NEWS, { n: 'after' });
  const after = await subEv.publications.next('publication after recovery');
  assert.deepEqual(after.data, { n: 'after' });
  assert.equal(subEv.publications.size, 0);
  assert.equal(subEv.subscribed.size, 0);
}));
