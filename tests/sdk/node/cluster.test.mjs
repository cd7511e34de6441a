// Several wirecall nodes on one real Redis, with centrifuge-js clients connected to
// different nodes and cent.js calling the HTTP API of another. The cluster-fixture process
// (tests/bin/cluster_fixture.rs) runs the redis-server, three node processes, a TCP proxy
// standing in for a load balancer, and a worker publishing through Redis. Run with
// `node --test cluster.test.mjs`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Centrifuge } from 'centrifuge';
import { CentClient } from 'cent.js';
import WebSocket from 'ws';
import { Fixture, REPO, recordClient, subscribed, within } from './helpers.mjs';

const CLUSTER = process.env.WIRECALL_CLUSTER_FIXTURE || path.join(REPO, 'target/debug/cluster-fixture');
const API_KEY = 'sdk-test-api-key';
const CHANNEL = 'news:cluster-js';

/** The cluster-fixture process; `node(i, command)` reaches one node's own fixture. */
class Cluster extends Fixture {
  static async start() {
    const cluster = new this(spawn(CLUSTER, [], { stdio: ['pipe', 'pipe', 'pipe'] }));
    const ready = await cluster.lines.next('cluster READY line');
    assert.match(ready, /^READY \{/, `unexpected first line: ${ready}`);
    const { nodes, proxy } = JSON.parse(ready.slice('READY '.length));
    cluster.ports = nodes;
    cluster.proxy = proxy;
    return cluster;
  }

  node(index, command) {
    return this.cmd({ cmd: 'node', index, command });
  }

  token(user) {
    return this.node(0, { cmd: 'token', user, exp_in: 3600 });
  }

  url(index) {
    return `ws://127.0.0.1:${this.ports[index]}/connection/websocket`;
  }

  cent(index) {
    return new CentClient({ url: `http://127.0.0.1:${this.ports[index]}/api`, apiKey: API_KEY });
  }

  /** A client of `url` for `user`, connected. */
  async connected(url, user) {
    const client = new Centrifuge(url, {
      websocket: WebSocket,
      token: await this.token(user),
      minReconnectDelay: 50,
      maxReconnectDelay: 300,
    });
    this.clients.push(client);
    const ev = recordClient(client);
    client.connect();
    await ev.connected.next(`${user} connected`);
    return { client, ev };
  }
}

async function withCluster(body) {
  const cluster = await Cluster.start();
  try {
    await body(cluster);
  } catch (e) {
    if (cluster.stderr) console.error(`--- cluster stderr ---\n${cluster.stderr}--- end ---`);
    throw e;
  } finally {
    await cluster.stop();
  }
}

async function nextPublications(ev, count) {
  const got = [];
  for (let i = 0; i < count; i++) {
    const ctx = await ev.publications.next('publication');
    got.push([ctx.offset, ctx.data]);
  }
  return got;
}

test('publications from a client, another node\'s API and the worker reach every node once, in order', () => withCluster(async (cluster) => {
  const subs = [];
  for (let index = 0; index < 3; index++) {
    const { client } = await cluster.connected(cluster.url(index), `js${index}`);
    subs.push(await subscribed(client, CHANNEL, { recoverable: true, positioned: true }));
  }
  await within(subs[0].sub.publish({ from: 'client' }), 'client publish');
  await cluster.cent(1).publish({ channel: CHANNEL, data: { from: 'api' } });
  await cluster.cmd({ cmd: 'worker_publish', channel: CHANNEL, data: { from: 'worker' } });
  const expected = [[1, { from: 'client' }], [2, { from: 'api' }], [3, { from: 'worker' }]];
  for (const { ev } of subs) assert.deepEqual(await nextPublications(ev, 3), expected);
  await cluster.cent(2).publish({ channel: CHANNEL, data: { marker: true } });
  for (const { ev } of subs) assert.deepEqual(await nextPublications(ev, 1), [[4, { marker: true }]]);
}));

test('a client moved to another node by the load balancer recovers what it missed', () => withCluster(async (cluster) => {
  const proxyUrl = `ws://127.0.0.1:${cluster.proxy}/connection/websocket`;
  const { client } = await cluster.connected(proxyUrl, 'mover');
  const { sub, ev } = await subscribed(client, CHANNEL, { recoverable: true, positioned: true });
  const api = cluster.cent(2);
  await api.publish({ channel: CHANNEL, data: { n: 1 } });
  assert.deepEqual(await nextPublications(ev, 1), [[1, { n: 1 }]]);
  // No backend: the SDK keeps trying while three publications are made.
  const lost = new Promise((resolve) => sub.once('subscribing', resolve));
  await cluster.cmd({ cmd: 'proxy_to', index: null });
  await within(lost, 'subscribing after the connection dropped');
  for (const n of [2, 3, 4]) await api.publish({ channel: CHANNEL, data: { n } });
  await cluster.cmd({ cmd: 'proxy_to', index: 1 });
  const again = await ev.subscribed.next('resubscribed through node 1');
  assert.equal(again.wasRecovering, true);
  assert.equal(again.recovered, true);
  assert.deepEqual(await nextPublications(ev, 3), [[2, { n: 2 }], [3, { n: 3 }], [4, { n: 4 }]]);
}));

test('presence and info span the nodes; the API of node 0 disconnects a client of node 1', () => withCluster(async (cluster) => {
  const { client: a } = await cluster.connected(cluster.url(0), 'ann');
  await subscribed(a, CHANNEL);
  const { client: b, ev: bEv } = await cluster.connected(cluster.url(1), 'ben');
  await subscribed(b, CHANNEL);
  const api = cluster.cent(2);
  const stats = await api.getPresenceStats({ channel: CHANNEL });
  assert.equal(stats.num_clients, 2);
  assert.equal(stats.num_users, 2);
  const info = await api.getInfo();
  assert.deepEqual(info.nodes.map((n) => n.name).sort(), ['node0', 'node1', 'node2']);

  await cluster.cent(0).disconnect({ user: 'ben' });
  const closed = await bEv.disconnected.next('ben disconnected');
  assert.equal(closed.code, 3503, 'force disconnect: terminal, the SDK stays disconnected');
}));

