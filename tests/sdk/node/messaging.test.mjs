// End-to-end tests of the messaging helpers and the task notifier, as a real
// centrifuge-js client (npm `centrifuge`) receives them. Run with
// `node --test messaging.test.mjs`.
//
// The fixture's `messaging` command (tests/sdk/README.md, "Messaging through the
// fixture") runs send_message, send_notification, send_file, broadcast_message and
// the task notifier either through the server's in-process publisher
// (`via: "server"`) or through the HTTP API client (`via: "http"`); every test runs
// both ways and asserts the whole payload the SDK delivers, in order.
//
// Like sdk.test.mjs: one fixture process per test, synchronisation on SDK events
// (queues fed by the SDK callbacks), timeouts only as hang guards. "Nothing else
// arrived" is shown with a marker: publish something afterwards and check it is the
// next thing the client sees, at the next stream offset.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Fixture, USER, connectedClient, subscribed, withFixture as withBaseFixture } from './helpers.mjs';

const OTHER_USER = 'u2';
const ABSENT_USER = 'u3'; // never connects
const VIAS = ['server', 'http'];
const TASK_CHANNELS = ['news:task-1', `chat:#${USER}`];

// RFC 3339 date-time (a "T" separator, seconds, optional fraction, an explicit offset).
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const CLOCK_SLACK_MS = 2000; // the stamp is taken in the server, on the same clock

// ---------------------------------------------------------------------------
// helpers (the fixture, event queues and clients are in helpers.mjs)

/** The sdk-fixture process, with its `messaging` command. */
class MessagingFixture extends Fixture {
  /** Run a messaging helper; its `OK` JSON (an `ERR` answer rejects). */
  messaging(via, action, fields) {
    return this.cmd({ cmd: 'messaging', via, action, ...fields });
  }

  /** Run a messaging helper that must fail; resolves with the `ERR` line. */
  async messagingError(via, action, fields) {
    const command = { cmd: 'messaging', via, action, ...fields };
    const line = await this.send(command);
    assert.ok(line.startsWith('ERR '), `${JSON.stringify(command)} should have failed, got ${line}`);
    return line;
  }
}

/** Run `body` with a fresh MessagingFixture (see helpers.mjs withFixture). */
const withFixture = (body) => withBaseFixture(body, MessagingFixture);

const personal = (user) => `personal:#${user}`;

/** A client connected as `user`, past the server-side subscription to its personal
 * channel. `ev.publications` gets the client-level (server-side subscription)
 * publications. */
async function connected(fx, user = USER) {
  const { client, ev } = await connectedClient(fx, user);
  const sub = await ev.serverSubscribed.next(`server-side subscribed event of ${user}`);
  assert.equal(sub.channel, personal(user));
  return { client, ev };
}

/** Check `timestamp` is an RFC 3339 UTC date-time taken between `since` (ms) and now,
 * and return the payload without it. */
function withoutTimestamp(data, since) {
  assert.ok(data && typeof data === 'object' && !Array.isArray(data), JSON.stringify(data));
  const { timestamp, ...payload } = data;
  assert.equal(typeof timestamp, 'string', `timestamp missing or not a string in ${JSON.stringify(data)}`);
  const match = RFC3339.exec(timestamp);
  assert.ok(match, `timestamp ${timestamp} is not RFC 3339`);
  assert.ok(['Z', '+00:00'].includes(match[1]), `timestamp ${timestamp} is not UTC`);
  const when = Date.parse(timestamp);
  assert.ok(Number.isFinite(when), `timestamp ${timestamp} does not parse`);
  assert.ok(when >= since - CLOCK_SLACK_MS && when <= Date.now() + CLOCK_SLACK_MS, `${timestamp} vs ${since}`);
  return payload;
}

/** The next client-level publication: it must be on `user`'s personal channel. */
async function nextPersonal(ev, user, what) {
  const ctx = await ev.publications.next(`${what} on ${personal(user)}`);
  assert.equal(ctx.channel, personal(user), JSON.stringify(ctx));
  return ctx;
}

/** Publish a marker to `user`'s personal channel and assert it is the next
 * client-level publication each of `evs` sees. */
async function personalMarker(fx, user, tag, ...evs) {
  const data = { marker: tag };
  const { offset } = await fx.cmd({ cmd: 'personal', user, data });
  for (const ev of evs) {
    const ctx = await nextPersonal(ev, user, `marker ${tag}`);
    assert.deepEqual({ data: ctx.data, offset: ctx.offset }, { data, offset });
  }
  return offset;
}

/** Publish a marker into `channel` and assert it is the next publication the
 * subscription sees; returns its offset. */
async function marker(fx, publications, channel, tag) {
  const data = { marker: tag };
  const { offset } = await fx.publish(channel, data);
  const ctx = await publications.next(`marker ${tag} on ${channel}`);
  assert.deepEqual({ data: ctx.data, offset: ctx.offset }, { data, offset });
  return offset;
}

const update = (message, progress) => ({ update: { message, progress } });

// ---------------------------------------------------------------------------
// tests

for (const via of VIAS) {
  test(`send_message (${via}): user.message with data, then with data {}`, () => withFixture(async (fx) => {
    const { ev } = await connected(fx);
    const data = { order: 42, items: ['a', { b: null }], ok: true };

    const since = Date.now();
    const first = await fx.messaging(via, 'send_message', { user: USER, message: 'héllo ✓', data });
    const second = await fx.messaging(via, 'send_message', { user: USER, message: 'no data' });
    assert.equal(first.delivered, true, JSON.stringify(first));
    assert.equal(second.delivered, true, JSON.stringify(second));
    assert.equal(second.offset, first.offset + 1);

    const got = [await nextPersonal(ev, USER, 'user.message'), await nextPersonal(ev, USER, 'user.message')];
    assert.deepEqual(got.map((ctx) => withoutTimestamp(ctx.data, since)), [
      { type: 'user.message', username: USER, message: 'héllo ✓', data },
      { type: 'user.message', username: USER, message: 'no data', data: {} },
    ]);
    assert.deepEqual(got.map((ctx) => ctx.offset), [first.offset, second.offset]);
    await personalMarker(fx, USER, 'after send_message', ev);
  }));

  test(`send_message (${via}): absent user is delivered:false, empty user is ERR`, () => withFixture(async (fx) => {
    const { ev } = await connected(fx);
    const absent = await fx.messaging(via, 'send_message', { user: ABSENT_USER, message: 'anyone?' });
    assert.equal(absent.delivered, false, JSON.stringify(absent));
    const line = await fx.messagingError(via, 'send_message', { user: '', message: 'to nobody' });
    assert.match(line, /user/);
    await personalMarker(fx, USER, 'after absent/empty', ev);
    assert.equal(ev.publications.size, 0);
  }));

  test(`send_notification (${via}): every kind in order; defaults info, "" and {}`, () => withFixture(async (fx) => {
    const { ev } = await connected(fx);
    const since = Date.now();
    const expected = [];
    for (const kind of ['success', 'error', 'info', 'warning']) {
      const data = { kind, n: expected.length };
      const title = `${kind[0].toUpperCase()}${kind.slice(1)} title`;
      const answer = await fx.messaging(via, 'send_notification', {
        user: USER, message: `${kind} message`, kind, title, data,
      });
      assert.equal(answer.delivered, true, JSON.stringify(answer));
      expected.push({
        type: 'user.notification',
        username: USER,
        notification_type: kind,
        title,
        message: `${kind} message`,
        data,
      });
    }
    const answer = await fx.messaging(via, 'send_notification', { user: USER, message: 'plain' });
    assert.equal(answer.delivered, true, JSON.stringify(answer));
    expected.push({
      type: 'user.notification',
      username: USER,
      notification_type: 'info',
      title: '',
      message: 'plain',
      data: {},
    });

    const got = [];
    for (let i = 0; i < expected.length; i++) got.push(await nextPersonal(ev, USER, 'user.notification'));
    assert.deepEqual(got.map((ctx) => withoutTimestamp(ctx.data, since)), expected);
    await personalMarker(fx, USER, 'after send_notification', ev);

    const absent = await fx.messaging(via, 'send_notification', { user: ABSENT_USER, message: 'anyone?', kind: 'warning' });
    assert.equal(absent.delivered, false, JSON.stringify(absent));
    await fx.messagingError(via, 'send_notification', { user: '', message: 'to nobody' });
    await personalMarker(fx, USER, 'after absent/empty', ev);
  }));

  test(`send_file (${via}): every field; then name from the URL, default message, null size`, () => withFixture(async (fx) => {
    const { ev } = await connected(fx);
    const since = Date.now();
    const full = await fx.messaging(via, 'send_file', {
      user: USER,
      file_url: 'https://files.example/exports/2024/q3.csv?sig=abc',
      file_name: 'Quarter 3 — report.csv',
      message: 'Your export is ready',
      file_size: 123456,
    });
    const minimal = await fx.messaging(via, 'send_file', {
      user: USER,
      file_url: 'https://files.example/downloads/report.pdf?token=xyz&x=1',
    });
    assert.equal(full.delivered, true, JSON.stringify(full));
    assert.equal(minimal.delivered, true, JSON.stringify(minimal));

    const got = [await nextPersonal(ev, USER, 'user.file'), await nextPersonal(ev, USER, 'user.file')];
    assert.deepEqual(got.map((ctx) => withoutTimestamp(ctx.data, since)), [
      {
        type: 'user.file',
        username: USER,
        file_url: 'https://files.example/exports/2024/q3.csv?sig=abc',
        file_name: 'Quarter 3 — report.csv',
        file_size: 123456,
        message: 'Your export is ready',
        data: {},
      },
      {
        type: 'user.file',
        username: USER,
        file_url: 'https://files.example/downloads/report.pdf?token=xyz&x=1',
        file_name: 'report.pdf',
        message: 'File ready for download',
        data: {},
      },
    ]);
    assert.deepEqual(got.map((ctx) => ctx.offset), [full.offset, minimal.offset]);
    await personalMarker(fx, USER, 'after send_file', ev);

    const url = 'https://files.example/a.txt';
    const absent = await fx.messaging(via, 'send_file', { user: ABSENT_USER, file_url: url });
    assert.equal(absent.delivered, false, JSON.stringify(absent));
    await fx.messagingError(via, 'send_file', { user: '', file_url: url });
    await personalMarker(fx, USER, 'after absent/empty', ev);
  }));

  test(`broadcast_message (${via}): reached counts users with a connection`, () => withFixture(async (fx) => {
    // u1 has two connections, u2 one, u3 none: reached 2, every connection gets one.
    const { ev: first } = await connected(fx, USER);
    const { ev: second } = await connected(fx, USER);
    const { ev: other } = await connected(fx, OTHER_USER);

    const since = Date.now();
    const answer = await fx.messaging(via, 'broadcast_message', {
      users: [USER, OTHER_USER, ABSENT_USER], message: 'maintenance at 5',
    });
    assert.deepEqual(answer, { reached: 2 });

    for (const [user, ev] of [[USER, first], [USER, second], [OTHER_USER, other]]) {
      const ctx = await nextPersonal(ev, user, 'broadcast user.message');
      assert.deepEqual(withoutTimestamp(ctx.data, since), {
        type: 'user.message', username: user, message: 'maintenance at 5', data: {},
      });
    }
    await personalMarker(fx, USER, 'after broadcast', first, second);
    await personalMarker(fx, OTHER_USER, 'after broadcast', other);

    assert.deepEqual(await fx.messaging(via, 'broadcast_message', { users: [ABSENT_USER], message: 'x' }), { reached: 0 });
    assert.deepEqual(await fx.messaging(via, 'broadcast_message', { users: [], message: 'x' }), { reached: 0 });
    await personalMarker(fx, USER, 'after empty broadcasts', first, second);
  }));

  for (const channel of TASK_CHANNELS) {
    test(`task notifier (${via}, ${channel}): updates 0/30/60/100 then complete`, () => withFixture(async (fx) => {
      const { client } = await connected(fx);
      const { publications } = (await subscribed(client, channel)).ev;
      const start = await marker(fx, publications, channel, 'before task');

      const progress = [0, 30, 60, 100];
      const result = { rows: 1250, url: 'https://files.example/out.csv', warnings: [] };
      const steps = [
        ...progress.map((p) => update(`step ${p}%`, p)),
        { complete: { message: 'Export finished', result } },
      ];
      assert.deepEqual(await fx.messaging(via, 'task', { task_id: 'task-1', channel, steps }), {});

      const got = [];
      for (let i = 0; i < steps.length; i++) got.push(await publications.next(`task event on ${channel}`));
      assert.deepEqual(got.map((ctx) => ctx.data), [
        ...progress.map((p) => ({
          type: 'task_update', task_id: 'task-1', status: 'processing', message: `step ${p}%`, progress: p, data: {},
        })),
        { type: 'task_complete', task_id: 'task-1', status: 'completed', message: 'Export finished', result },
      ]);
      assert.deepEqual(got.map((ctx) => ctx.offset), steps.map((_, i) => start + i + 1));
      await marker(fx, publications, channel, 'after task');
    }));

    test(`task notifier (${via}, ${channel}): an update then task_error`, () => withFixture(async (fx) => {
      const { client } = await connected(fx);
      const { publications } = (await subscribed(client, channel)).ev;
      const start = await marker(fx, publications, channel, 'before task');

      const steps = [
        update('starting', 10),
        { error: { error: 'disk full', message: 'The export could not be written' } },
      ];
      assert.deepEqual(await fx.messaging(via, 'task', { task_id: 'task-2', channel, steps }), {});

      const got = [await publications.next('task_update'), await publications.next('task_error')];
      assert.deepEqual(got.map((ctx) => ctx.data), [
        { type: 'task_update', task_id: 'task-2', status: 'processing', message: 'starting', progress: 10, data: {} },
        { type: 'task_error', task_id: 'task-2', error: 'disk full', message: 'The export could not be written' },
      ]);
      assert.deepEqual(got.map((ctx) => ctx.offset), [start + 1, start + 2]);
      await marker(fx, publications, channel, 'after task');
    }));

    test(`task notifier (${via}, ${channel}): progress 101 is ERR, nothing published`, () => withFixture(async (fx) => {
      const { client } = await connected(fx);
      const { publications } = (await subscribed(client, channel)).ev;
      const start = await marker(fx, publications, channel, 'before task');

      const line = await fx.messagingError(via, 'task', { task_id: 'task-3', channel, steps: [update('too far', 101)] });
      assert.match(line, /progress/);

      assert.equal(await marker(fx, publications, channel, 'after refused update'), start + 1);
      assert.equal(publications.size, 0);
    }));
  }
}
