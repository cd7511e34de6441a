// The generated TypeScript client of the fixture server (fixture-clients writes it to
// target/clients/fixture/typescript; run.sh copies it to target/clients/ts/fixture-client,
// runs `npm install` and `npm run build` there, as its README says): typed calls, typed
// errors, the type-fixture round trip and typed task and personal subscriptions, each
// with the JSON encoding and with the SDK's Protobuf build passed in (`protobuf` option).
// Run with `node --test generated.test.mjs`.

import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Centrifuge as CentrifugeProtobuf } from 'centrifuge/build/protobuf';
import WebSocket from 'ws';
import { Queue, REPO, USER, testInEachEncoding, within } from './helpers.mjs';

const generated = await import(
  pathToFileURL(path.join(REPO, 'target/clients/ts/fixture-client/dist/index.js')).href
);
const { APIClient, CentrifugoRPCClient, RPCError } = generated;

/** The generated client's options for the test's encoding. */
function options(fx) {
  return fx.encoding === 'protobuf' ? { websocket: WebSocket, protobuf: CentrifugeProtobuf } : { websocket: WebSocket };
}

async function connectedApi(fx, user = USER) {
  const rpc = new CentrifugoRPCClient(fx.url, await fx.token(user), user, options(fx));
  const api = new APIClient(rpc);
  await within(rpc.connect(), 'generated client connect');
  fx.clients.push(rpc);
  return { api, rpc };
}

/** A Queue fed by a typed subscription's listener. */
function queueOf(subscription, name) {
  const queue = new Queue(name);
  subscription.on((value) => queue.push(value));
  return queue;
}

testInEachEncoding('a call resolves with the typed result', async (fx) => {
  const { api } = await connectedApi(fx);
  const me = await within(api.testWhoami(), 'test.whoami');
  assert.equal(me.user, USER);
  assert.ok(me.client);
  assert.equal(await within(api.testSleep(5), 'test.sleep'), 5);
});

testInEachEncoding('an error reply rejects with RPCError carrying code and message', async (fx) => {
  const { api } = await connectedApi(fx);
  await assert.rejects(within(api.testFail(), 'test.fail'), (error) => {
    assert.ok(error instanceof RPCError);
    assert.deepEqual({ code: error.code, message: error.message }, { code: 1001, message: 'custom app error' });
    return true;
  });
});

testInEachEncoding('a bad token rejects connect with code 3500', async (fx) => {
  const token = await fx.token(USER, 3600, { bad_signature: true });
  const rpc = new CentrifugoRPCClient(fx.url, token, USER, options(fx));
  fx.clients.push(rpc);
  await assert.rejects(within(rpc.connect(), 'refused connect'), (error) => {
    assert.ok(error instanceof RPCError);
    assert.equal(error.code, 3500);
    return true;
  });
});

testInEachEncoding('the type fixture round-trips through the generated types', async (fx) => {
  // Rust serialises the sample; it is parsed, serialised again, and parsed back by
  // Rust to an equal value (types.check compares).
  const { api } = await connectedApi(fx);
  const sample = await within(api.typesSample(), 'types.sample');
  assert.deepEqual(sample.events[0], { kind: 'moved', x: 1, y: -2 });
  assert.equal(sample.class, 'first');
  assert.equal(sample.revision, 42);
  assert.deepEqual(sample.shapes, [
    { circle: { radius: 1.5 } }, { square: 4 }, { labelled: { name: 'five', tags: ['a', 'b'] } },
    { line: [-1, 2] }, 'empty', 'unknown',
  ]);
  assert.deepEqual(sample.moves, [{ op: 'Jump', args: { height: 3 } }, { op: 'Walk', args: 10 }, { op: 'Stop' }]);
  const again = JSON.parse(JSON.stringify(sample));
  assert.equal(await within(api.typesCheck(again), 'types.check'), true);
});

testInEachEncoding('a typed task subscription sees task_update then task_complete', async (fx) => {
  const { api } = await connectedApi(fx);
  const channel = 'news:task-7';
  const events = queueOf(await within(api.subscribeTask(channel), 'subscribeTask'), 'task events');
  const steps = [50, 100].map((p) => ({ update: { message: `step ${p}`, progress: p } }));
  steps.push({ complete: { message: 'done', result: { rows: 3 } } });
  await fx.cmd({ cmd: 'messaging', via: 'server', action: 'task', task_id: 't7', channel, steps });
  const got = [await events.next(), await events.next(), await events.next()];
  assert.deepEqual(got.map((e) => [e.type, e.progress ?? null]), [
    ['task_update', 50], ['task_update', 100], ['task_complete', null],
  ]);
  assert.deepEqual(got[2].result, { rows: 3 });
});

testInEachEncoding('typed personal messages arrive on the personal channel', async (fx) => {
  const rpc = new CentrifugoRPCClient(fx.url, await fx.token(USER), USER, options(fx));
  fx.clients.push(rpc);
  const api = new APIClient(rpc);
  const personal = queueOf(api.personalMessages(), 'personal messages');
  await within(rpc.connect(), 'connect');
  await fx.cmd({
    cmd: 'messaging', via: 'server', action: 'send_notification', user: USER,
    message: 'saved', kind: 'success', title: 'Report',
  });
  const note = await personal.next();
  assert.deepEqual([note.type, note.notification_type, note.title, note.message],
    ['user.notification', 'success', 'Report', 'saved']);
});

testInEachEncoding('typed channel families: a typed publish from Rust reaches typed subscriptions', async (fx) => {
  const { api } = await connectedApi(fx);
  const storyId = '0b5e0c1e-3c4f-4a8e-9d7a-5f1f2b3c4d5e';
  const stories = await within(api.subscribeNewsStory({ storyId }), 'subscribeNewsStory');
  assert.equal(stories.channel, `news:story:${storyId}`);
  const storyEvents = queueOf(stories, 'story events');
  const sent = await fx.cmd({
    cmd: 'typed', via: 'server', family: 'news_story', story_id: storyId,
    payload: { kind: 'edited', title: 'New title', revision: 2 },
  });
  assert.equal(sent, stories.channel);
  await fx.cmd({
    cmd: 'typed', via: 'http', family: 'news_story', story_id: storyId,
    payload: { kind: 'retracted', reason: 'duplicate' },
  });
  assert.deepEqual(await storyEvents.next(), { kind: 'edited', title: 'New title', revision: 2 });
  assert.deepEqual(await storyEvents.next(), { kind: 'retracted', reason: 'duplicate' });

  const inbox = queueOf(await within(api.subscribeChatInbox({ inbox: -1, user: USER }), 'subscribeChatInbox'), 'inbox');
  await fx.cmd({
    cmd: 'typed', via: 'server', family: 'chat_inbox', inbox: -1, user: USER,
    payload: { author: 'bot', text: 'archived' },
  });
  assert.deepEqual(await inbox.next(), { author: 'bot', text: 'archived' });
  await assert.rejects(within(api.subscribeChatInbox({ inbox: 1, user: 'someone-else' }), 'other inbox'),
    (error) => error instanceof RPCError && error.code === 103);
});

testInEachEncoding('typed channel families: a subscription publishes, a wrong shape is refused with 107', async (fx) => {
  const { api } = await connectedApi(fx);
  const room = await within(api.subscribeChatRoom({ roomId: 42 }), 'subscribeChatRoom');
  assert.equal(room.channel, 'chat:room:42');
  const messages = queueOf(room, 'room messages');
  await within(room.publish({ author: USER, text: 'hello' }), 'typed publish');
  assert.deepEqual(await messages.next(), { author: USER, text: 'hello' });
  await assert.rejects(within(room.publish({ author: USER }), 'refused publish'), (error) => {
    assert.ok(error instanceof RPCError, String(error));
    assert.equal(error.code, 107);
    assert.match(error.message, /text/);
    assert.match(error.message, /chat_room/);
    return true;
  });
});
