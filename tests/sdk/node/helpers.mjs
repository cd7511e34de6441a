// Helpers shared by the node suites (sdk.test.mjs, messaging.test.mjs, cent.test.mjs):
// the sdk-fixture process, event queues fed by SDK callbacks, and connected clients
// and subscriptions of the official centrifuge-js SDK. Timeouts are only hang guards.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { test } from 'node:test';
import { Centrifuge } from 'centrifuge';
import { Centrifuge as CentrifugeProtobuf } from 'centrifuge/build/protobuf';
import WebSocket from 'ws';

/** The repository root. */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** The sdk-fixture binary: $WIRECALL_FIXTURE, or target/debug/sdk-fixture. */
export const FIXTURE = process.env.WIRECALL_FIXTURE || path.join(REPO, 'target/debug/sdk-fixture');
/** Hang guard for every wait, in milliseconds. */
export const TIMEOUT_MS = 10_000;

/** The user the tests connect as by default. */
export const USER = 'u1';
/** A channel in the `news` namespace (history, presence, recovery). */
export const NEWS = 'news:updates';

/** Resolve with `promise`, or reject after TIMEOUT_MS naming what was awaited. */
export function within(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${TIMEOUT_MS} ms waiting for ${what}`)), TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A FIFO of events: push() from callbacks, `await next()` in tests. */
export class Queue {
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

  /** Reject every current and later wait with `error` (once the queue is empty). */
  fail(error) {
    this.error = error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  get size() {
    return this.items.length;
  }

  /** The next item; rejects after TIMEOUT_MS naming `what`. */
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

/** One sdk-fixture process: `READY <port>` on stdout, then one JSON command per line.
 * `url` is its WebSocket endpoint, `apiUrl` its HTTP API. Subclass it to add commands. */
export class Fixture {
  static async start(encoding = 'json') {
    const fx = new this(spawn(FIXTURE, [], { stdio: ['pipe', 'pipe', 'pipe'] }));
    // 'json', or 'protobuf': the clients are the SDK's Protobuf build (the
    // centrifuge-protobuf subprotocol), whose payloads are bytes: the JSON of the values.
    fx.encoding = encoding;
    const ready = await fx.lines.next('fixture READY line');
    assert.match(ready, /^READY \d+$/, `unexpected first fixture line: ${ready}`);
    const port = ready.split(' ')[1];
    fx.url = `ws://127.0.0.1:${port}/connection/websocket`;
    fx.apiUrl = `http://127.0.0.1:${port}/api`;
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

  /** Send one command, resolve with the whole answer line (`OK ...` or `ERR ...`). */
  send(command) {
    const result = this.chain.then(async () => {
      this.proc.stdin.write(JSON.stringify(command) + '\n');
      return this.lines.next(`fixture answer to ${JSON.stringify(command)}`);
    });
    this.chain = result.catch(() => {});
    return result;
  }

  /** Send one command, resolve with the JSON after `OK `; `ERR ...` rejects. */
  async cmd(command) {
    const line = await this.send(command);
    if (!line.startsWith('OK ')) throw new Error(`fixture command ${JSON.stringify(command)} failed: ${line}`);
    return JSON.parse(line.slice(3));
  }

  /** A connection token for `user` expiring in `expIn` s (`extra`: e.g. bad_signature). */
  token(user = USER, expIn = 3600, extra = {}) {
    return this.cmd({ cmd: 'token', user, exp_in: expIn, ...extra });
  }

  /** Publish `data` into `channel` from the server; resolves with the stream position. */
  publish(channel, data) {
    return this.cmd({ cmd: 'publish', channel, data });
  }

  /** A client of this fixture; short reconnect delays keep the restart test quick. */
  client(options = {}) {
    const Sdk = this.encoding === 'protobuf' ? CentrifugeProtobuf : Centrifuge;
    const client = new Sdk(this.url, {
      websocket: WebSocket,
      minReconnectDelay: 50,
      maxReconnectDelay: 500,
      ...options,
    });
    this.clients.push(client);
    return client;
  }

  /** A payload as the SDK takes it in this encoding: the value, or its JSON bytes. */
  encode(value) {
    return this.encoding === 'protobuf' ? new TextEncoder().encode(JSON.stringify(value)) : value;
  }

  /** A payload the SDK handed over, as a value. */
  decode(data) {
    if (this.encoding !== 'protobuf') return data;
    assert.ok(data instanceof Uint8Array, `a Protobuf payload is bytes, not ${typeof data}`);
    return JSON.parse(new TextDecoder().decode(data));
  }

  /** Disconnect every client, ask the process to quit, kill it after 5 s. */
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

/** Run `body` with a fresh fixture (an instance of `FixtureClass`); print the fixture's
 * stderr if the test fails. */
export async function withFixture(body, FixtureClass = Fixture, encoding = 'json') {
  const fx = await FixtureClass.start(encoding);
  try {
    await body(fx);
  } catch (e) {
    if (fx.stderr) console.error(`--- fixture stderr ---\n${fx.stderr}--- end of fixture stderr ---`);
    throw e;
  } finally {
    await fx.stop();
  }
}

/** The protocol encodings every scenario of sdk.test.mjs runs in. */
export const ENCODINGS = ['json', 'protobuf'];

/** Registers `body` (given a fresh fixture) as one test per encoding. */
export function testInEachEncoding(name, body) {
  for (const encoding of ENCODINGS) {
    test(`${name} [${encoding}]`, () => withFixture(body, Fixture, encoding));
  }
}

/** Record client-level events into queues; `ev.publications` gets the publications of
 * server-side subscriptions. */
export function recordClient(client) {
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
export function recordSub(sub) {
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

/** A client connected with a valid token for `user`; resolves with
 * `{ client, ev, clientId }` (`ev` from recordClient). */
export async function connectedClient(fx, user = USER, options = {}) {
  const client = fx.client({ token: await fx.token(user), ...options });
  const ev = recordClient(client);
  client.connect();
  const ctx = await ev.connected.next(`connected event of ${user}`);
  return { client, ev, clientId: ctx.client };
}

/** A subscription to `channel` that reached subscribed; resolves with
 * `{ sub, ev, ctx }` (`ev` from recordSub, `ctx` the subscribed event). */
export async function subscribed(client, channel, options = {}) {
  const sub = client.newSubscription(channel, options);
  const ev = recordSub(sub);
  sub.subscribe();
  const ctx = await ev.subscribed.next();
  return { sub, ev, ctx };
}
