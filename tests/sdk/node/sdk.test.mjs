// End-to-end tests: the official centrifuge-js SDK (npm `centrifuge`) against the
// wirecall sdk-fixture server, every scenario with the JSON build and with the Protobuf
// build (`centrifuge/build/protobuf`, what the mobile SDKs speak). Run with `node --test sdk.test.mjs`.
//
// Each test starts its own fixture process (helpers.mjs), talks to it over stdin/stdout (mint
// tokens, publish from the server side, restart) and drives a real SDK client.
// Tests wait on SDK events (queues fed by the SDK callbacks); timeouts are only
// hang guards.

import assert from 'node:assert/strict';
import { NEWS, USER, connectedClient, recordClient, recordSub, subscribed, testInEachEncoding, within } from './helpers.mjs';

// ---------------------------------------------------------------------------
// tests

testInEachEncoding('connect with a valid token; test.whoami returns the user', async (fx) => {
  // A valid token connects; test.whoami reports the token's user and this client id.
  const { client, clientId } = await connectedClient(fx);
  assert.equal(client.state, 'connected');
  assert.ok(clientId);
  const result = await within(client.rpc('test.whoami', fx.encode({})), 'whoami rpc');
  assert.deepEqual(fx.decode(result.data), { user: USER, client: clientId });
});

testInEachEncoding('a token with a bad signature is refused (3500, no reconnect)', async (fx) => {
  // The server closes with 3500, which is terminal for the SDK.
  const client = fx.client({ token: await fx.token(USER, 3600, { bad_signature: true }) });
  const ev = recordClient(client);
  client.connect();
  const ctx = await ev.disconnected.next();
  assert.deepEqual({ code: ctx.code, reason: ctx.reason }, { code: 3500, reason: 'invalid token' });
  // 'disconnected' is terminal: the SDK schedules reconnects only while connecting.
  assert.equal(client.state, 'disconnected');
  assert.equal(ev.connected.size, 0);
});

testInEachEncoding('an expired token makes the SDK call getToken, then connect', async (fx) => {
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
  const result = await within(client.rpc('test.whoami', fx.encode({})), 'whoami rpc');
  assert.deepEqual(fx.decode(result.data), { user: USER, client: ctx.client });
});

testInEachEncoding('rpc success (test.echo) and failure (test.fail)', async (fx) => {
  // test.echo round-trips a nested object; test.fail rejects with {code: 1001, message}.
  const { client } = await connectedClient(fx);
  const payload = {
    a: 1,
    nested: { list: [1, 'two', { three: 3.5 }], flag: true, nothing: null },
    text: 'héllo ✓',
  };
  const result = await within(client.rpc('test.echo', fx.encode(payload)), 'echo rpc');
  assert.deepEqual(fx.decode(result.data), payload);

  let error;
  try {
    await within(client.rpc('test.fail', fx.encode({})), 'fail rpc');
  } catch (e) {
    error = e;
  }
  assert.ok(error, 'test.fail must reject');
  assert.deepEqual({ code: error.code, message: error.message }, { code: 1001, message: 'custom app error' });
  assert.equal(client.state, 'connected'); // RPC errors never disconnect
});

testInEachEncoding('subscribe to news; a server publish is received', async (fx) => {
  // A server-side publish reaches the subscription with exactly the published data.
  const { client } = await connectedClient(fx);
  const { ev } = await subscribed(client, NEWS);
  const data = { headline: 'hello', tags: ['a', 'b'], n: 1 };
  await fx.publish(NEWS, data);
  const ctx = await ev.publications.next();
  assert.equal(ctx.channel, NEWS);
  assert.deepEqual(fx.decode(ctx.data), data);
});

testInEachEncoding('a subscriber publishes; another user receives it with the publisher info', async (fx) => {
  const { client: publisher, clientId: publisherId } = await connectedClient(fx);
  const { client: reader } = await connectedClient(fx, 'u2');
  const { ev } = await subscribed(reader, NEWS);
  const { sub } = await subscribed(publisher, NEWS);
  const data = { from: 'a client', n: [1, 2] };
  await within(sub.publish(fx.encode(data)), 'publish');
  const ctx = await ev.publications.next('client publication');
  assert.deepEqual(fx.decode(ctx.data), data);
  assert.deepEqual({ user: ctx.info.user, client: ctx.info.client }, { user: USER, client: publisherId });
});

testInEachEncoding('personal channel publication reaches the client-level handler', async (fx) => {
  // The server subscribes the client to personal:#u1; the client does nothing itself.
  const { ev } = await connectedClient(fx);
  const channel = `personal:#${USER}`;
  const sub = await ev.serverSubscribed.next();
  assert.equal(sub.channel, channel);
  const data = { note: 'for you only' };
  await fx.cmd({ cmd: 'personal', user: USER, data });
  const ctx = await ev.publications.next();
  assert.equal(ctx.channel, channel);
  assert.deepEqual(fx.decode(ctx.data), data);
});

testInEachEncoding('presence, presence stats and history', async (fx) => {
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
  assert.deepEqual(history.publications.map((p) => fx.decode(p.data)), sent);
  assert.deepEqual(history.publications.map((p) => p.offset), offsets);
  assert.deepEqual(offsets, [offsets[0], offsets[0] + 1, offsets[0] + 2]);
  assert.equal(history.offset, offsets[2]);
  assert.ok(history.epoch);
});

testInEachEncoding('subscribing to chat:#other_user is refused with 103, nope:x with 102', async (fx) => {
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
});

testInEachEncoding('restart: the SDK reconnects and recovers exactly the missed publications', async (fx) => {
  // After a server restart (close 3001) the SDK reconnects, resubscribes with
  // recovery and gets exactly the 3 publications made while it was away, in order.
  const { client, ev } = await connectedClient(fx);
  const { ev: subEv, ctx: first } = await subscribed(client, NEWS, { recoverable: true, positioned: true });
  assert.equal(first.recoverable, true);
  assert.equal(first.wasRecovering, false);

  await fx.publish(NEWS, { n: 0 });
  const before = await subEv.publications.next('publication before restart');
  assert.deepEqual(fx.decode(before.data), { n: 0 });

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
  assert.deepEqual(got.map((p) => fx.decode(p.data)), missed);
  assert.deepEqual(got.map((p) => p.offset), [1, 2, 3].map((i) => before.offset + i));

  // Nothing else was delivered: the next thing the subscription sees is a new publish.
  await fx.publish(NEWS, { n: 'after' });
  const after = await subEv.publications.next('publication after recovery');
  assert.deepEqual(fx.decode(after.data), { n: 'after' });
  assert.equal(subEv.publications.size, 0);
  assert.equal(subEv.subscribed.size, 0);
});
