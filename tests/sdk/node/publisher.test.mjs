// The generated TypeScript publisher for Node backends (fixture-client's
// dist/publisher.js) against the Rust helpers: the same operation from Rust
// (the fixture's `messaging` command over the HTTP API client) and from Node
// gives the same JSON at a centrifuge-js subscriber (timestamps aside) and the
// same `delivered` / count; then the documented errors. Run with
// `node --test publisher.test.mjs`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO, USER, connectedClient, subscribed, withFixture } from './helpers.mjs';

const {
  Publisher, PublishError, InvalidArgument, Refused, Unauthorized, Unreachable,
} = await import(pathToFileURL(path.join(REPO, 'target/clients/ts/fixture-client/dist/publisher.js')).href);

const API_KEY = 'sdk-test-api-key'; // the test servers' (tests/lib.rs)
const OTHER_USER = 'u2';
const ABSENT = 'u3'; // never connects

const withoutTime = ({ timestamp, ...rest }) => rest;

/** Runs `body` counting the HTTP requests made meanwhile (a bad argument must
 * make none, wherever the call would have published); the count. */
async function requestsDuring(body) {
  const realFetch = globalThis.fetch;
  let made = 0;
  globalThis.fetch = (...args) => {
    made += 1;
    return realFetch(...args);
  };
  try {
    await body();
  } finally {
    globalThis.fetch = realFetch;
  }
  return made;
}

async function connected(fx, user = USER) {
  const { client, ev } = await connectedClient(fx, user);
  await ev.serverSubscribed.next(`server-side subscribed event of ${user}`);
  return ev;
}

/** The next personal-channel publication of `ev`'s client. */
async function nextPersonal(ev, user, what) {
  const ctx = await ev.publications.next(what);
  assert.equal(ctx.channel, `personal:#${user}`);
  return ctx.data;
}

const OPERATIONS = [
  ['send_message', { user: USER, message: 'Hello from Node!' }, (p) => p.sendMessage(USER, 'Hello from Node!')],
  ['send_message', { user: USER, message: 'with data', data: { n: 1 } }, (p) => p.sendMessage(USER, 'with data', { n: 1 })],
  ['send_notification', { user: USER, message: 'Saved', kind: 'success', title: 'Report' },
    (p) => p.sendNotification(USER, 'Saved', { notificationType: 'success', title: 'Report' })],
  ['send_notification', { user: USER, message: 'defaults' }, (p) => p.sendNotification(USER, 'defaults')],
  ['send_file', { user: USER, file_url: 'https://files.example/r/report.pdf?sig=1' },
    (p) => p.sendFile(USER, 'https://files.example/r/report.pdf?sig=1')],
  ['send_file', { user: USER, file_url: 'https://x.example/a.csv', file_name: 'a.csv', message: 'Ready', file_size: 2048 },
    (p) => p.sendFile(USER, 'https://x.example/a.csv', { fileName: 'a.csv', message: 'Ready', fileSize: 2048 })],
];

test('every operation publishes what Rust publishes, with the same result', async () => {
  await withFixture(async (fx) => {
    const ev = await connected(fx);
    const publisher = new Publisher({ apiUrl: fx.apiUrl, apiKey: API_KEY });
    for (const [action, fields, node] of OPERATIONS) {
      const rust = await fx.cmd({ cmd: 'messaging', via: 'http', action, ...fields });
      const fromRust = await nextPersonal(ev, USER, `rust ${action}`);
      assert.equal(await node(publisher), rust.delivered);
      const fromNode = await nextPersonal(ev, USER, `node ${action}`);
      assert.ok(fromNode.timestamp, JSON.stringify(fromNode));
      assert.deepEqual(withoutTime(fromNode), withoutTime(fromRust), action);
    }
    assert.equal(await publisher.sendMessage(ABSENT, 'later'), false);
    assert.equal(await publisher.isConnected(ABSENT), false);
    assert.equal(await publisher.isConnected(USER), true);
  });
});

test('broadcastMessage counts the users reached, each once', async () => {
  await withFixture(async (fx) => {
    const mine = await connected(fx, USER);
    const theirs = await connected(fx, OTHER_USER);
    const publisher = new Publisher({ apiUrl: fx.apiUrl, apiKey: API_KEY });
    const users = [USER, OTHER_USER, ABSENT, USER];
    const rust = await fx.cmd({ cmd: 'messaging', via: 'http', action: 'broadcast_message', message: 'All hands', users });
    assert.equal(await publisher.broadcastMessage('All hands', users), rust.reached);
    assert.equal(rust.reached, 2);
    for (const [ev, user] of [[mine, USER], [theirs, OTHER_USER]]) {
      const fromRust = await nextPersonal(ev, user, 'rust broadcast');
      const fromNode = await nextPersonal(ev, user, 'node broadcast');
      assert.deepEqual(withoutTime(fromNode), withoutTime(fromRust));
    }
  });
});

test('task progress is the same as Rust’s', async () => {
  await withFixture(async (fx) => {
    const { client } = await connectedClient(fx, USER);
    const channel = 'news:task-contract';
    const { ev } = await subscribed(client, channel);
    await fx.cmd({
      cmd: 'messaging', via: 'http', action: 'task', task_id: 't1', channel, steps: [
        { update: { status: 'queued', message: 'waiting', progress: 0 } },
        { update: { message: 'half', progress: 50, data: { rows: 5 } } },
        { complete: { message: 'done', result: { rows: 10 } } },
        { error: { error: 'E42', message: 'failed' } },
      ],
    });
    const task = new Publisher({ apiUrl: fx.apiUrl, apiKey: API_KEY }).task('t1', channel);
    await task.update('waiting', 0, undefined, 'queued');
    await task.update('half', 50, { rows: 5 });
    await task.complete('done', { rows: 10 });
    await task.error('E42', 'failed');
    const got = [];
    for (let i = 0; i < 8; i += 1) got.push((await ev.publications.next(`task event ${i}`)).data);
    assert.deepEqual(got.slice(4), got.slice(0, 4));
    assert.deepEqual(got.slice(0, 4).map((e) => e.type), ['task_update', 'task_update', 'task_complete', 'task_error']);
    assert.equal(got[0].status, 'queued');
  });
});

test('typed families publish what Rust publishes, string parameters checked first', async () => {
  await withFixture(async (fx) => {
    const { client } = await connectedClient(fx, USER);
    const story = '0b5e0c1e-3c4f-4a8e-9d7a-5f1f2b3c4d5e';
    const stories = (await subscribed(client, `news:story:${story}`)).ev;
    const inbox = (await subscribed(client, `chat:inbox:-1#${USER}`)).ev;
    const publisher = new Publisher({ apiUrl: fx.apiUrl, apiKey: API_KEY });
    const edited = { kind: 'edited', title: 'New title', revision: 2 };
    await fx.cmd({ cmd: 'typed', via: 'http', family: 'news_story', story_id: story, payload: edited });
    // The server writes UUIDs in lower case; the publisher does too.
    await publisher.publishNewsStory({ storyId: story.toUpperCase() }, edited);
    const message = { author: 'ann', text: 'hi' };
    await fx.cmd({ cmd: 'typed', via: 'http', family: 'chat_inbox', inbox: -1, user: USER, payload: message });
    await publisher.publishChatInbox({ inbox: -1, user: USER }, message);
    for (const [ev, what] of [[stories, 'story event'], [inbox, 'inbox message']]) {
      const fromRust = (await ev.publications.next(`Rust's ${what}`)).data;
      assert.deepEqual((await ev.publications.next(`Node's ${what}`)).data, fromRust);
    }
    const made = await requestsDuring(async () => {
      for (const bad of ['', 'u1,u2', 'u1 u2', 'a#b', 'bell\u0007']) {
        await assert.rejects(publisher.publishChatInbox({ inbox: -1, user: bad }, message), InvalidArgument);
      }
      // Integers within the Rust type's range (i32), UUIDs in their form.
      for (const inbox of [2 ** 31, 1.5, NaN]) {
        await assert.rejects(publisher.publishChatInbox({ inbox, user: USER }, message), InvalidArgument);
      }
      await assert.rejects(publisher.publishNewsStory({ storyId: 'not-a-uuid' }, edited), InvalidArgument);
    });
    assert.equal(made, 0);
    await publisher.publishChatInbox({ inbox: -1, user: USER }, { author: 'ann', text: 'marker' });
    assert.equal((await inbox.publications.next('the marker')).data.text, 'marker');
  });
});

async function closedPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('the documented errors, and nothing sent for bad arguments', async () => {
  await withFixture(async (fx) => {
    const ev = await connected(fx);
    await assert.rejects(new Publisher({ apiUrl: fx.apiUrl, apiKey: 'wrong' }).sendMessage(USER, 'x'), Unauthorized);
    const down = `http://127.0.0.1:${await closedPort()}/api`;
    await assert.rejects(new Publisher({ apiUrl: down, apiKey: API_KEY, timeoutMs: 2000 }).isConnected(USER), Unreachable);
    const publisher = new Publisher({ apiUrl: fx.apiUrl, apiKey: API_KEY });
    const task = publisher.task('t9', 'news:task-9');
    const made = await requestsDuring(async () => {
      for (const bad of [
        () => task.update('x', 101), () => task.update('x', -1), () => task.update('x', 2.5),
        () => task.update('x', 5, {}, 'done'), () => publisher.sendMessage('', 'x'),
        () => publisher.sendNotification(USER, 'x', { notificationType: 'shout' }),
        () => publisher.broadcastMessage('x', [USER, '']), () => publisher.sendFile(USER, ''),
        () => publisher.publish('news:x', { big: 1n }),
      ]) {
        await assert.rejects(bad(), (error) => error instanceof InvalidArgument && error instanceof PublishError);
      }
    });
    assert.equal(made, 0);
    assert.equal(await requestsDuring(() => publisher.isConnected(USER)), 1, 'the count sees a request');
    // A refusal by the server (its check of the channel name): Refused, with the code.
    await assert.rejects(publisher.publish('', {}), (error) => error instanceof Refused && error.code === 107);
    // Nothing above was sent: the next publication is this marker.
    await publisher.sendMessage(USER, 'marker');
    assert.equal((await nextPersonal(ev, USER, 'marker')).message, 'marker');
    // Configuration from the environment.
    process.env.WIRECALL_API_URL = fx.apiUrl;
    process.env.WIRECALL_API_KEY = API_KEY;
    try {
      assert.equal(await new Publisher().sendMessage(USER, 'from env'), true);
      assert.equal((await nextPersonal(ev, USER, 'env')).message, 'from env');
    } finally {
      delete process.env.WIRECALL_API_URL;
      delete process.env.WIRECALL_API_KEY;
    }
    assert.throws(() => new Publisher(), /WIRECALL_API_URL/);
  });
});
