"""Several wirecall nodes on one real Redis, with centrifuge-python clients connected to
different nodes and `cent` calling the HTTP API of yet another.

The cluster-fixture process (tests/bin/cluster_fixture.rs) runs a redis-server (append-only),
three sdk-fixture node processes on it, a TCP proxy standing in for a load balancer, and a
worker that publishes through Redis with no server. Nodes run with short expiries (presence
3 s, node registry 2 s) so a killed node's departure is seen within a test.

As in the other suites: synchronisation on SDK events, timeouts only as hang guards. Expiry
itself is the one thing waited for by polling the API, until a deadline.
"""

import asyncio
import json
import os
import time
from typing import Any, Dict, List, Tuple

import pytest
import pytest_asyncio
from cent import (
    AsyncClient,
    DisconnectRequest,
    HistoryRequest,
    InfoRequest,
    PresenceStatsRequest,
    PublishRequest,
    UnsubscribeRequest,
    Disconnect,
)
from cent.exceptions import CentApiResponseError
from centrifuge import Client, JoinContext, SubscriptionState

from sdk_helpers import REPO, TIMEOUT, ClientEvents, SubEvents, personal, subscribed, within

CLUSTER = os.environ.get(
    "WIRECALL_CLUSTER_FIXTURE", str(REPO / "target" / "debug" / "cluster-fixture")
)
API_KEY = "sdk-test-api-key"
CHANNEL = "news:cluster"


class Cluster:
    """One cluster-fixture process: `READY {...}` on stdout, then one JSON command per line."""

    def __init__(self, proc: asyncio.subprocess.Process, ready: Dict[str, Any]):
        self.proc = proc
        self.nodes: List[int] = ready["nodes"]
        self.proxy: int = ready["proxy"]
        self.clients: List[Client] = []
        self.apis: List[AsyncClient] = []
        self._lock = asyncio.Lock()

    @classmethod
    async def start(cls) -> "Cluster":
        proc = await asyncio.create_subprocess_exec(
            CLUSTER, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        line = (await within(proc.stdout.readline(), "cluster READY line")).decode().strip()
        assert line.startswith("READY "), f"unexpected first line: {line!r}"
        return cls(proc, json.loads(line[len("READY "):]))

    async def cmd(self, **command) -> Any:
        async with self._lock:
            self.proc.stdin.write((json.dumps(command) + "\n").encode())
            await self.proc.stdin.drain()
            line = (await within(self.proc.stdout.readline(), f"answer to {command}")).decode()
        if not line.startswith("OK "):
            pytest.fail(f"cluster command {command} failed: {line!r}")
        return json.loads(line[3:])

    async def node(self, index: int, **command) -> Any:
        return await self.cmd(cmd="node", index=index, command=command)

    async def token(self, user: str) -> str:
        return await self.node(0, cmd="token", user=user, exp_in=3600)

    def url(self, index: int) -> str:
        return f"ws://127.0.0.1:{self.nodes[index]}/connection/websocket"

    def proxy_url(self) -> str:
        return f"ws://127.0.0.1:{self.proxy}/connection/websocket"

    def cent(self, index: int) -> AsyncClient:
        api = AsyncClient(f"http://127.0.0.1:{self.nodes[index]}/api", API_KEY, timeout=TIMEOUT)
        self.apis.append(api)
        return api

    async def client(self, url: str, user: str) -> Tuple[Client, ClientEvents]:
        """A client of `url` for `user`, connected past its personal channel."""
        events = ClientEvents()
        client = Client(
            url,
            events=events,
            token=await self.token(user),
            min_reconnect_delay=0.05,
            max_reconnect_delay=0.3,
        )
        self.clients.append(client)
        await within(client.connect(), "connect()")
        await within(events.connected.get(), f"{user} connected")
        sub = await within(events.server_subscribed.get(), f"personal channel of {user}")
        assert sub.channel == personal(user)
        return client, events

    async def stop(self) -> None:
        for client in self.clients:
            await client.disconnect()
        for api in self.apis:
            await api.close()
        if self.proc.returncode is None:
            try:
                self.proc.stdin.write(b'{"cmd":"quit"}\n')
                await self.proc.stdin.drain()
                await asyncio.wait_for(self.proc.wait(), 10)
            except (asyncio.TimeoutError, ConnectionError):
                self.proc.kill()
                await self.proc.wait()


@pytest_asyncio.fixture
async def cluster():
    running = await Cluster.start()
    try:
        yield running
    finally:
        await running.stop()


async def publications(events: SubEvents, count: int) -> List[Tuple[int, Any]]:
    """The next `count` publications as (offset, data)."""
    got = []
    for _ in range(count):
        ctx = await within(events.publications.get(), "publication")
        got.append((ctx.pub.offset, ctx.pub.data))
    return got


async def until(what: str, check, deadline: float = 10.0):
    """Polls `check` (an async predicate) until true; for expiries, which are waited for."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if await check():
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"not within {deadline}s: {what}")


# ---------------------------------------------------------------------------
# one deployment


async def test_publications_from_every_source_reach_every_node_once_in_order(cluster):
    """A client publish on node 0, the HTTP API of node 1 and the worker's Redis publisher:
    subscribers on all three nodes get each publication once, in offset order."""
    subs = []
    for index in range(3):
        client, _ = await cluster.client(cluster.url(index), f"u{index}")
        subs.append(await subscribed(client, CHANNEL, recoverable=True, positioned=True))
    sub0 = subs[0][0]
    await within(sub0.publish({"from": "client"}), "client publish")
    await cluster.cent(1).publish(PublishRequest(channel=CHANNEL, data={"from": "api"}))
    await cluster.cmd(cmd="worker_publish", channel=CHANNEL, data={"from": "worker"})
    expected = [(1, {"from": "client"}), (2, {"from": "api"}), (3, {"from": "worker"})]
    for _, events, _ in subs:
        assert await publications(events, 3) == expected
    # Exactly once: the marker is the next thing each subscriber sees.
    await cluster.cent(2).publish(PublishRequest(channel=CHANNEL, data={"marker": True}))
    for _, events, _ in subs:
        assert await publications(events, 1) == [(4, {"marker": True})]


async def test_a_client_that_moves_to_another_node_recovers_what_it_missed(cluster):
    """Through the load balancer (the fixture's proxy) on node 0; while no backend is
    reachable three publications are made; the client comes back through node 1 and
    recovers exactly those, in order."""
    client, _ = await cluster.client(cluster.proxy_url(), "mover")
    sub, events, first = await subscribed(client, CHANNEL, recoverable=True, positioned=True)
    api = cluster.cent(2)
    await api.publish(PublishRequest(channel=CHANNEL, data={"n": 1}))
    assert await publications(events, 1) == [(1, {"n": 1})]
    await cluster.cmd(cmd="proxy_to", index=None)
    await within(_wait_subscribing(sub), "the subscription lost its connection")
    for n in (2, 3, 4):
        await api.publish(PublishRequest(channel=CHANNEL, data={"n": n}))
    await cluster.cmd(cmd="proxy_to", index=1)
    again = await within(events.subscribed.get(), "resubscribed through node 1")
    assert again.was_recovering and again.recovered
    assert await publications(events, 3) == [(2, {"n": 2}), (3, {"n": 3}), (4, {"n": 4})]


async def _wait_subscribing(sub) -> None:
    """Until the subscription lost its connection (state subscribing)."""
    while sub.state != SubscriptionState.SUBSCRIBING:
        await asyncio.sleep(0.02)


class JoinEvents(SubEvents):
    """SubEvents that also records the users of join pushes."""

    def __init__(self):
        super().__init__()
        self.joins: asyncio.Queue = asyncio.Queue()

    async def on_join(self, ctx: JoinContext) -> None:
        self.joins.put_nowait(ctx.info.user)


async def test_presence_join_leave_and_info_span_the_nodes_and_a_killed_node_drops_out(cluster):
    on0, _ = await cluster.client(cluster.url(0), "alice")
    events0 = JoinEvents()
    sub0 = on0.new_subscription(CHANNEL, events=events0, join_leave=True)
    await within(sub0.subscribe(), "subscribe()")
    await within(events0.subscribed.get(), "alice subscribed")
    on1, _ = await cluster.client(cluster.url(1), "bob")
    await subscribed(on1, CHANNEL, join_leave=True)
    while await within(events0.joins.get(), "join pushes on node 0") != "bob":
        pass
    api = cluster.cent(2)
    stats = await api.presence_stats(PresenceStatsRequest(channel=CHANNEL))
    assert (stats.num_clients, stats.num_users) == (2, 2)
    info = await api.info(InfoRequest())
    assert sorted(n.name for n in info.nodes) == ["node0", "node1", "node2"]

    await cluster.cmd(cmd="kill_node", index=1)

    async def node_gone() -> bool:
        return sorted(n.name for n in (await api.info(InfoRequest())).nodes) == ["node0", "node2"]

    async def presence_gone() -> bool:
        stats = await api.presence_stats(PresenceStatsRequest(channel=CHANNEL))
        return (stats.num_clients, stats.num_users) == (1, 1)

    await until("node1 drops out of info (node TTL 2 s)", node_gone)
    await until("bob drops out of presence (presence TTL 3 s)", presence_gone)


async def test_the_api_of_one_node_reaches_connections_on_another(cluster):
    client, client_events = await cluster.client(cluster.url(1), "target")
    sub, events, _ = await subscribed(client, CHANNEL)
    delivered = await cluster.node(
        0, cmd="messaging", via="http", action="send_notification", user="target",
        message="from node 0", kind="success",
    )
    assert delivered["delivered"] is True, "node 0 counts the connection on node 1"
    ctx = await within(client_events.publications.get(), "notification")
    assert ctx.channel == personal("target")
    assert ctx.pub.data["message"] == "from node 0"

    api = cluster.cent(0)
    await api.unsubscribe(UnsubscribeRequest(user="target", channel=CHANNEL))
    gone = await within(events.unsubscribed.get(), "server unsubscribe")
    assert gone.code == 2000

    await api.disconnect(
        DisconnectRequest(user="target", disconnect=Disconnect(code=4503, reason="go away"))
    )
    closed = await within(client_events.disconnected.get(), "disconnected")
    assert closed.code == 4503


async def test_one_idempotency_key_on_two_nodes_publishes_once(cluster):
    def request(n: int) -> PublishRequest:
        return PublishRequest(channel=CHANNEL, data={"n": n}, idempotency_key="once")

    first, second = await asyncio.gather(
        cluster.cent(0).publish(request(1)), cluster.cent(1).publish(request(2))
    )
    assert (first.offset, first.epoch) == (second.offset, second.epoch)
    history = await cluster.cent(2).history(HistoryRequest(channel=CHANNEL, limit=-1))
    assert len(history.publications) == 1


# ---------------------------------------------------------------------------
# Redis faults


async def test_redis_killed_mid_stream_loses_nothing_acknowledged(cluster):
    """Redis (append-only) is SIGKILLed mid-stream and restarted with its data: every
    publication the API acknowledged reaches the recoverable subscribers of two nodes once
    and in order; the ones attempted while Redis was down failed with 100, none was
    acknowledged and lost."""
    subs = []
    for index in (0, 1):
        client, _ = await cluster.client(cluster.url(index), f"r{index}")
        subs.append(await subscribed(client, CHANNEL, recoverable=True, positioned=True))
    api = cluster.cent(2)
    acknowledged, refused = [], 0
    for n in range(1, 46):
        if n == 15:
            await cluster.cmd(cmd="kill_redis")
        if n == 30:
            await cluster.cmd(cmd="restart_redis", keep_data=True)
        try:
            await api.publish(PublishRequest(channel=CHANNEL, data={"n": n}))
            acknowledged.append(n)
        except CentApiResponseError as error:
            assert error.code == 100, error
            refused += 1
        await asyncio.sleep(0.02)
    assert refused > 0
    for _, events, _ in subs:
        got = [data["n"] for _, data in await publications(events, len(acknowledged))]
        assert got == acknowledged


async def test_redis_restarted_empty_tells_recoverable_subscribers(cluster):
    client, _ = await cluster.client(cluster.url(0), "epoch")
    sub, events, _ = await subscribed(client, CHANNEL, recoverable=True, positioned=True)
    api = cluster.cent(1)
    await api.publish(PublishRequest(channel=CHANNEL, data={"n": 1}))
    await publications(events, 1)
    await cluster.cmd(cmd="restart_redis", keep_data=False)

    async def published() -> bool:
        try:
            await api.publish(PublishRequest(channel=CHANNEL, data={"n": 2}))
            return True
        except CentApiResponseError:
            return False

    await until("publishing works after the restart", published)
    again = await within(events.subscribed.get(), "resubscribed on the new epoch")
    assert again.was_recovering and not again.recovered


async def test_a_killed_pubsub_connection_is_replaced_and_subscribers_recover(cluster):
    client, _ = await cluster.client(cluster.url(1), "pubsub")
    sub, events, _ = await subscribed(client, CHANNEL, recoverable=True, positioned=True)
    for n in range(1, 31):
        if n == 10:
            await cluster.cmd(cmd="kill_pubsub")
        await cluster.cmd(cmd="worker_publish", channel=CHANNEL, data={"n": n})
    got = [data["n"] for _, data in await publications(events, 30)]
    assert got == list(range(1, 31))
