"""End-to-end tests of wirecall's Centrifugo-compatible HTTP server API (`POST /api/<method>`).

The official Python API client `cent` (unchanged) drives the API of a live sdk-fixture
server; what subscribers see is checked with real `centrifuge-python` clients. Requests
that `cent` cannot send (no JSON, an unknown method, another auth header) go out as plain
HTTP with `requests`.

Like test_centrifuge_python.py: one fixture process per test, synchronisation on SDK
events (asyncio queues fed by the callbacks), timeouts only as hang guards; the shared
helpers are in sdk_helpers.py. "Nothing else arrived" is shown with a marker: publish
something afterwards and check it is the next thing the client sees.
"""

import asyncio
import json
from typing import Any, Dict, Optional, Tuple

import pytest
import pytest_asyncio
import requests

import cent
from cent import (
    AsyncClient,
    BatchRequest,
    BroadcastRequest,
    ChannelsRequest,
    Disconnect,
    DisconnectRequest,
    HistoryRemoveRequest,
    HistoryRequest,
    InfoRequest,
    PresenceRequest,
    PresenceStatsRequest,
    PublishRequest,
    PublishResult,
    RefreshRequest,
    StreamPosition,
    SubscribeRequest,
    UnsubscribeRequest,
)
from cent.exceptions import CentApiResponseError, CentUnauthorizedError

from centrifuge import ClientState

from sdk_helpers import (
    NEWS,
    OTHER_USER,
    TIMEOUT,
    USER,
    ClientEvents,
    Fixture,
    SubEvents,
    connected,
    next_personal,
    personal,
    subscribed,
    within,
)

API_KEY = "sdk-test-api-key"
PLAIN = "plain"  # the default namespace: no history, no presence, no client subscribe


# ---------------------------------------------------------------------------
# helpers


class ApiFixture(Fixture):
    """The sdk-fixture process, plus clients of the HTTP API it serves on the same port
    (`api_url`)."""

    def cent(self, api_key: str = API_KEY) -> AsyncClient:
        """A `cent` client of this server (close it with `await c.close()`)."""
        return AsyncClient(self.api_url, api_key, timeout=TIMEOUT)

    async def http(
        self,
        path: str,
        body: Any,
        headers: Optional[Dict[str, str]] = None,
        api_key: Optional[str] = API_KEY,
        method: str = "POST",
    ) -> Tuple[int, str]:
        """Send `body` (bytes/str as is, anything else as JSON) to `<api_url>/<path>` with
        plain `requests`; `api_key` goes in X-API-Key unless None. Returns (status, text)."""
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        all_headers = {"Content-Type": "application/json"}
        if api_key is not None:
            all_headers["X-API-Key"] = api_key
        all_headers.update(headers or {})
        url = f"{self.api_url}/{path}" if path else self.api_url

        def send() -> requests.Response:
            return requests.request(method, url, data=body, headers=all_headers, timeout=TIMEOUT)

        response = await within(asyncio.to_thread(send), f"{method} {url}")
        return response.status_code, response.text


@pytest.fixture
def fixture_class():
    """`fx` (conftest.py) is an ApiFixture in this module."""
    return ApiFixture


@pytest_asyncio.fixture
async def api(fx):
    client = fx.cent()
    try:
        yield client
    finally:
        await client.close()


async def personal_marker(api: AsyncClient, user: str, tag: str, *all_events: ClientEvents):
    """Publish a marker to `user`'s personal channel and assert it is the next client-level
    publication each of `all_events` (connections of that user) sees: nothing else reached
    their client-level handler before it."""
    await api.publish(PublishRequest(channel=personal(user), data={"marker": tag}))
    for events in all_events:
        ctx = await next_personal(events, user, f"marker {tag}")
        assert ctx.pub.data == {"marker": tag}


async def sub_marker(api: AsyncClient, sub_events: SubEvents, channel: str, tag: str):
    """Publish a marker to `channel` and assert it is the next publication the subscription
    sees: nothing else was delivered to it before."""
    await api.publish(PublishRequest(channel=channel, data={"marker": tag}))
    ctx = await within(sub_events.publications.get(), f"marker {tag} on {channel}")
    assert ctx.pub.data == {"marker": tag}


async def position(api: AsyncClient, channel: str = NEWS) -> Tuple[int, str]:
    """The (offset, epoch) of `channel`'s stream (history with no limit)."""
    result = await api.history(HistoryRequest(channel=channel))
    assert result.publications == []
    return result.offset, result.epoch


def api_error(status_text: Tuple[int, str], status: int, code: int) -> Dict[str, Any]:
    """Assert an HTTP answer is `status` with a Centrifugo error body of `code`; returns
    the error object."""
    got_status, text = status_text
    assert got_status == status, f"HTTP {got_status} {text!r}"
    body = json.loads(text)
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"].get("message"), str) and body["error"]["message"], body
    return body["error"]


# ---------------------------------------------------------------------------
# publish


async def test_publish_reaches_subscriber_and_history(fx, api):
    """cent publish into a channel with history: offset and epoch come back, the subscriber
    gets exactly the data and tags at that offset, and history has it."""
    client, _, _ = await connected(fx)
    _, sub_events, sub_ctx = await subscribed(client, NEWS)

    data = {"headline": "hello", "list": [1, "two", {"three": 3.5}], "none": None, "t": "héllo ✓"}
    result = await api.publish(PublishRequest(channel=NEWS, data=data, tags={"k": "v"}))
    assert isinstance(result, PublishResult)
    assert result.offset == 1
    assert result.epoch and result.epoch == sub_ctx.stream_position.epoch

    ctx = await within(sub_events.publications.get(), "publication")
    assert (ctx.pub.data, ctx.pub.offset, ctx.pub.tags) == (data, result.offset, {"k": "v"})

    history = await api.history(HistoryRequest(channel=NEWS, limit=10))
    assert [(p.data, p.offset, p.tags) for p in history.publications] == [
        (data, 1, {"k": "v"})
    ]
    assert (history.offset, history.epoch) == (1, result.epoch)

    # The next publish is the next offset of the same stream.
    second = await api.publish(PublishRequest(channel=NEWS, data={"n": 2}))
    assert (second.offset, second.epoch) == (2, result.epoch)
    ctx = await within(sub_events.publications.get(), "second publication")
    assert (ctx.pub.data, ctx.pub.offset) == ({"n": 2}, 2)


async def test_publish_wire_shape(fx):
    """The raw answer of a publish is exactly {"result":{"offset":N,"epoch":"..."}}."""
    status, text = await fx.http("publish", {"channel": NEWS, "data": {"x": 1}})
    assert status == 200, text
    body = json.loads(text)
    assert set(body) == {"result"}, body
    assert set(body["result"]) == {"offset", "epoch"}, body
    assert body["result"]["offset"] == 1 and body["result"]["epoch"], body


async def test_publish_without_history(fx, api):
    """A channel without history: the result is empty ({"result":{}}, offset 0 and no epoch
    for cent) and the publication still reaches a (server-side) subscriber, with no offset."""
    status, text = await fx.http("publish", {"channel": PLAIN, "data": {"raw": 1}})
    assert (status, json.loads(text)) == (200, {"result": {}}), text

    _, events, _ = await connected(fx)
    await api.subscribe(SubscribeRequest(user=USER, channel=PLAIN))
    ctx = await within(events.server_subscribed.get(), "server-side subscribed event")
    assert ctx.channel == PLAIN and not ctx.recoverable

    result = await api.publish(PublishRequest(channel=PLAIN, data={"n": 1}))
    assert (result.offset, result.epoch) == (0, "")
    ctx = await within(events.publications.get(), "publication on the plain channel")
    assert (ctx.channel, ctx.pub.data, ctx.pub.offset) == (PLAIN, {"n": 1}, 0)

    with pytest.raises(CentApiResponseError) as err:
        await api.history(HistoryRequest(channel=PLAIN, limit=10))
    assert err.value.code == 108


async def test_publish_skip_history(fx, api):
    """skip_history: the subscriber gets the publication, history does not keep it."""
    client, _, _ = await connected(fx)
    _, sub_events, _ = await subscribed(client, NEWS)
    before = await position(api)

    await api.publish(PublishRequest(channel=NEWS, data={"ephemeral": True}, skip_history=True))
    ctx = await within(sub_events.publications.get(), "skip_history publication")
    assert ctx.pub.data == {"ephemeral": True}

    history = await api.history(HistoryRequest(channel=NEWS, limit=10))
    assert history.publications == []
    assert (history.offset, history.epoch) == before


async def test_publish_idempotency_key(fx, api):
    """The same idempotency_key publishes once: the second call returns the first result and
    the subscriber sees one publication; another key publishes again."""
    client, _, _ = await connected(fx)
    _, sub_events, _ = await subscribed(client, NEWS)

    first = await api.publish(PublishRequest(channel=NEWS, data={"n": 1}, idempotency_key="k1"))
    again = await api.publish(PublishRequest(channel=NEWS, data={"n": 1}, idempotency_key="k1"))
    assert (again.offset, again.epoch) == (first.offset, first.epoch)

    ctx = await within(sub_events.publications.get(), "idempotent publication")
    assert (ctx.pub.data, ctx.pub.offset) == ({"n": 1}, first.offset)

    other = await api.publish(PublishRequest(channel=NEWS, data={"n": 2}, idempotency_key="k2"))
    assert other.offset == first.offset + 1
    ctx = await within(sub_events.publications.get(), "publication with another key")
    assert (ctx.pub.data, ctx.pub.offset) == ({"n": 2}, other.offset)

    history = await api.history(HistoryRequest(channel=NEWS, limit=10))
    assert [p.data for p in history.publications] == [{"n": 1}, {"n": 2}]
    await sub_marker(api, sub_events, NEWS, "end")


async def test_cent_sync_client_publishes(fx, api):
    """cent's synchronous Client (requests) works too."""
    client, _, _ = await connected(fx)
    _, sub_events, _ = await subscribed(client, NEWS)

    def publish_sync() -> PublishResult:
        sync = cent.Client(fx.api_url, API_KEY, timeout=TIMEOUT)
        try:
            return sync.publish(PublishRequest(channel=NEWS, data={"sync": True}))
        finally:
            sync.close()

    result = await within(asyncio.to_thread(publish_sync), "sync publish")
    assert result.offset == 1 and result.epoch
    ctx = await within(sub_events.publications.get(), "publication from the sync client")
    assert (ctx.pub.data, ctx.pub.offset) == ({"sync": True}, 1)


# ---------------------------------------------------------------------------
# broadcast and batch


async def test_broadcast(fx, api):
    """broadcast answers one response per channel in channel order, an error for a channel
    in an unknown namespace, and every subscriber receives the data."""
    client, _, _ = await connected(fx)
    _, a_events, _ = await subscribed(client, "news:a")
    _, b_events, _ = await subscribed(client, "news:b")

    data = {"to": "everyone"}
    result = await api.broadcast(
        BroadcastRequest(channels=["news:a", "nope:x", "news:b"], data=data)
    )
    assert len(result.responses) == 3
    ok_a, bad, ok_b = result.responses
    assert ok_a.error is None and ok_a.result.offset == 1 and ok_a.result.epoch
    assert bad.result is None and bad.error.code == 102 and bad.error.message
    assert ok_b.error is None and ok_b.result.offset == 1 and ok_b.result.epoch

    got_a = await within(a_events.publications.get(), "broadcast on news:a")
    got_b = await within(b_events.publications.get(), "broadcast on news:b")
    assert (got_a.pub.data, got_a.pub.offset) == (data, 1)
    assert (got_b.pub.data, got_b.pub.offset) == (data, 1)


async def test_batch(fx, api):
    """batch runs publish, broadcast, publish in order; the replies come in order and the
    subscribers see the publications in that order."""
    client, _, _ = await connected(fx)
    _, a_events, _ = await subscribed(client, "news:a")
    _, b_events, _ = await subscribed(client, "news:b")

    result = await api.batch(
        BatchRequest(
            requests=[
                PublishRequest(channel="news:a", data={"step": 1}),
                BroadcastRequest(channels=["news:a", "news:b"], data={"step": 2}),
                PublishRequest(channel="news:b", data={"step": 3}),
            ],
            parallel=False,
        )
    )
    first, broadcast, last = result.replies
    assert first.offset == 1 and first.epoch
    assert [(r.error, r.result.offset) for r in broadcast.responses] == [(None, 2), (None, 1)]
    assert last.offset == 2 and last.epoch

    got_a = [await within(a_events.publications.get(), "news:a publication") for _ in range(2)]
    got_b = [await within(b_events.publications.get(), "news:b publication") for _ in range(2)]
    assert [(c.pub.data, c.pub.offset) for c in got_a] == [({"step": 1}, 1), ({"step": 2}, 2)]
    assert [(c.pub.data, c.pub.offset) for c in got_b] == [({"step": 2}, 1), ({"step": 3}, 2)]


async def test_batch_wire_shape_with_an_error(fx, api):
    """The raw batch answer is {"replies":[...]} (not wrapped in result), one entry per
    command in order, an error entry for a failing command. (cent itself raises KeyError
    on an error entry, a cent bug: protocol.md §10.3.)"""
    status, text = await fx.http(
        "batch",
        {
            "commands": [
                {"publish": {"channel": NEWS, "data": {"n": 1}}},
                {"publish": {"channel": "nope:x", "data": {"n": 2}}},
                {"history": {"channel": NEWS, "limit": 10}},
            ],
            "parallel": False,
        },
    )
    assert status == 200, text
    body = json.loads(text)
    assert set(body) == {"replies"}, body
    publish, error, history = body["replies"]
    assert publish == {"publish": {"offset": 1, "epoch": publish["publish"]["epoch"]}}
    assert publish["publish"]["epoch"]
    assert set(error) == {"error"} and error["error"]["code"] == 102 and error["error"]["message"]
    assert history["history"]["publications"] == [{"data": {"n": 1}, "offset": 1}]
    assert await position(api) == (1, publish["publish"]["epoch"])


# ---------------------------------------------------------------------------
# server-side subscriptions and connection management


async def test_subscribe_and_unsubscribe_user(fx, api):
    """subscribe {user, channel} subscribes every connection of the user (a server-side
    subscription: client-level subscribed event, then publications); another user is left
    alone. unsubscribe removes it from every connection again."""
    channel = "news:server"
    first, first_events, _ = await connected(fx)
    second, second_events, _ = await connected(fx)
    _, other_events, _ = await connected(fx, OTHER_USER)

    await api.subscribe(SubscribeRequest(user=USER, channel=channel))
    for events in (first_events, second_events):
        ctx = await within(events.server_subscribed.get(), "server-side subscribed event")
        assert ctx.channel == channel

    data = {"via": "server-side subscription"}
    await api.publish(PublishRequest(channel=channel, data=data))
    for events in (first_events, second_events):
        ctx = await within(events.publications.get(), "server-side publication")
        assert (ctx.channel, ctx.pub.data) == (channel, data)

    presence = await api.presence(PresenceRequest(channel=channel))
    assert sorted(info.user for info in presence.presence.values()) == [USER, USER]

    await api.unsubscribe(UnsubscribeRequest(user=USER, channel=channel))
    for events in (first_events, second_events):
        ctx = await within(events.server_unsubscribed.get(), "server-side unsubscribed event")
        assert ctx.channel == channel

    # Publications of the channel no longer reach them; the other user never saw any.
    await api.publish(PublishRequest(channel=channel, data={"after": "unsubscribe"}))
    await personal_marker(api, USER, "user", first_events, second_events)
    await personal_marker(api, OTHER_USER, "other user", other_events)
    assert other_events.server_subscribed.empty()
    assert (await api.presence_stats(PresenceStatsRequest(channel=channel))).num_clients == 0
    assert first.state == second.state == ClientState.CONNECTED


async def test_disconnect_user_is_terminal(fx, api):
    """disconnect {user} closes each connection of the user with 3503 "force disconnect",
    which is terminal; other users stay connected."""
    first, first_events, _ = await connected(fx)
    second, second_events, _ = await connected(fx)
    other, other_events, other_id = await connected(fx, OTHER_USER)

    await api.disconnect(DisconnectRequest(user=USER))
    for client, events in ((first, first_events), (second, second_events)):
        ctx = await within(events.disconnected.get(), "disconnected event")
        assert (ctx.code, ctx.reason) == (3503, "force disconnect")
        assert client.state == ClientState.DISCONNECTED

    assert other.state == ClientState.CONNECTED
    result = await within(other.rpc("test.whoami", {}), "whoami rpc of the other user")
    assert result.data == {"user": OTHER_USER, "client": other_id}
    assert other_events.disconnected.empty()


async def test_disconnect_with_reconnect_code(fx, api):
    """disconnect with code 4000 "reconnect please": the client reconnects by itself."""
    client, events, first_id = await connected(fx)
    # The connecting event of connect() itself.
    await within(events.connecting.get(), "connecting event from connect()")

    await api.disconnect(
        DisconnectRequest(user=USER, disconnect=Disconnect(code=4000, reason="reconnect please"))
    )
    ctx = await within(events.connecting.get(), "connecting event after the disconnect")
    assert (ctx.code, ctx.reason) == (4000, "reconnect please")
    again = await within(events.connected.get(), "connected event after reconnecting")
    assert again.client != first_id
    assert client.state == ClientState.CONNECTED
    assert events.disconnected.empty()
    result = await within(client.rpc("test.whoami", {}), "whoami rpc after reconnecting")
    assert result.data == {"user": USER, "client": again.client}


async def test_refresh_expired_reconnects(fx, api):
    """refresh {user, expired:true} closes the connection with 3005 "connection expired";
    the client reconnects with its (still valid) token."""
    client, events, first_id = await connected(fx)
    await within(events.connecting.get(), "connecting event from connect()")

    await api.refresh(RefreshRequest(user=USER, expired=True))
    ctx = await within(events.connecting.get(), "connecting event after refresh")
    assert (ctx.code, ctx.reason) == (3005, "connection expired")
    again = await within(events.connected.get(), "connected event after reconnecting")
    assert again.client != first_id
    assert client.state == ClientState.CONNECTED
    assert events.disconnected.empty()


# ---------------------------------------------------------------------------
# presence, history, channels, info


async def test_presence_and_presence_stats(fx, api):
    """presence lists every subscribed connection with its user; presence_stats counts
    connections and distinct users."""
    ids = {}
    for user in (USER, USER, OTHER_USER):
        client, _, client_id = await connected(fx, user)
        await subscribed(client, NEWS)
        ids[client_id] = user

    presence = await api.presence(PresenceRequest(channel=NEWS))
    assert set(presence.presence) == set(ids)
    for client_id, info in presence.presence.items():
        assert (info.client, info.user) == (client_id, ids[client_id])

    stats = await api.presence_stats(PresenceStatsRequest(channel=NEWS))
    assert (stats.num_clients, stats.num_users) == (3, 2)

    # A channel nobody is subscribed to: an empty presence object.
    empty = await api.presence(PresenceRequest(channel="news:nobody"))
    assert empty.presence == {}
    stats = await api.presence_stats(PresenceStatsRequest(channel="news:nobody"))
    assert (stats.num_clients, stats.num_users) == (0, 0)


async def test_history(fx, api):
    """history: limit, since, reverse and the stream position; a wrong epoch is 112."""
    sent = [{"n": i} for i in range(1, 6)]
    results = [await api.publish(PublishRequest(channel=NEWS, data=d)) for d in sent]
    assert [r.offset for r in results] == [1, 2, 3, 4, 5]
    epoch = results[0].epoch
    assert all(r.epoch == epoch for r in results)

    full = await api.history(HistoryRequest(channel=NEWS, limit=10))
    assert [(p.data, p.offset) for p in full.publications] == list(zip(sent, range(1, 6)))
    assert (full.offset, full.epoch) == (5, epoch)

    assert await position(api) == (5, epoch)

    since = await api.history(
        HistoryRequest(channel=NEWS, limit=2, since=StreamPosition(offset=2, epoch=epoch))
    )
    assert [p.offset for p in since.publications] == [3, 4]
    assert (since.offset, since.epoch) == (5, epoch)

    newest = await api.history(HistoryRequest(channel=NEWS, limit=2, reverse=True))
    assert [p.offset for p in newest.publications] == [5, 4]

    rest = await api.history(
        HistoryRequest(channel=NEWS, limit=10, since=StreamPosition(offset=5, epoch=epoch))
    )
    assert rest.publications == [] and rest.offset == 5

    with pytest.raises(CentApiResponseError) as err:
        await api.history(
            HistoryRequest(channel=NEWS, limit=10, since=StreamPosition(offset=2, epoch="other"))
        )
    assert err.value.code == 112

    # A channel that never had a publication.
    assert (await api.history(HistoryRequest(channel="news:empty", limit=10))).publications == []


async def test_history_remove(fx, api):
    """history_remove drops the publications but keeps the stream position; the next
    publish continues the same stream."""
    for i in range(3):
        await api.publish(PublishRequest(channel=NEWS, data={"n": i}))
    offset, epoch = await position(api)
    assert offset == 3

    await api.history_remove(HistoryRemoveRequest(channel=NEWS))
    history = await api.history(HistoryRequest(channel=NEWS, limit=10))
    assert history.publications == []
    assert (history.offset, history.epoch) == (offset, epoch)

    after = await api.publish(PublishRequest(channel=NEWS, data={"n": "after"}))
    assert (after.offset, after.epoch) == (offset + 1, epoch)
    history = await api.history(HistoryRequest(channel=NEWS, limit=10))
    assert [(p.data, p.offset) for p in history.publications] == [({"n": "after"}, offset + 1)]


async def test_channels(fx, api):
    """channels lists only channels with subscribers, with their number of connections;
    a glob pattern filters them."""
    first, _, _ = await connected(fx)
    second, _, _ = await connected(fx, OTHER_USER)
    await subscribed(first, "news:a")
    await subscribed(second, "news:a")
    await subscribed(first, "news:b")
    await subscribed(first, "chat:x")
    # A channel with history but no subscriber is not listed.
    await api.publish(PublishRequest(channel="news:idle", data={"n": 1}))

    result = await api.channels(ChannelsRequest())
    counts = {name: info.num_clients for name, info in result.channels.items()}
    assert counts == {
        "news:a": 2,
        "news:b": 1,
        "chat:x": 1,
        f"personal:#{USER}": 1,
        f"personal:#{OTHER_USER}": 1,
    }

    news = await api.channels(ChannelsRequest(pattern="news:*"))
    assert {n: i.num_clients for n, i in news.channels.items()} == {"news:a": 2, "news:b": 1}

    none = await api.channels(ChannelsRequest(pattern="nothing:*"))
    assert none.channels == {}


async def test_info(fx, api):
    """info describes one node with its connection, user and channel counts."""
    empty = (await api.info(InfoRequest())).nodes
    assert len(empty) == 1
    assert empty[0].uid and empty[0].name
    assert (empty[0].num_clients, empty[0].num_users, empty[0].num_channels) == (0, 0, 0)

    first, _, _ = await connected(fx)
    await connected(fx)
    await connected(fx, OTHER_USER)
    await subscribed(first, "news:a")

    nodes = (await api.info(InfoRequest())).nodes
    assert len(nodes) == 1
    node = nodes[0]
    assert (node.uid, node.name) == (empty[0].uid, empty[0].name)
    # 3 connections of 2 users; channels: news:a and the two personal channels.
    assert (node.num_clients, node.num_users, node.num_channels) == (3, 2, 3)


# ---------------------------------------------------------------------------
# auth


async def test_unauthorized_requests_publish_nothing(fx, api):
    """No API key or a wrong one: HTTP 401 (cent raises CentUnauthorizedError) and nothing
    is published."""
    client, _, _ = await connected(fx)
    _, sub_events, _ = await subscribed(client, NEWS)
    before = await position(api)

    for key in ("wrong-key", ""):  # cent sends no X-API-Key at all for ""
        bad = fx.cent(api_key=key)
        try:
            with pytest.raises(CentUnauthorizedError):
                await bad.publish(PublishRequest(channel=NEWS, data={"key": key}))
        finally:
            await bad.close()

    body = {"channel": NEWS, "data": {"raw": True}}
    for headers, key in (
        ({}, None),  # no credentials at all
        ({}, "wrong-key"),
        ({"Authorization": "apikey wrong-key"}, None),
        ({"Authorization": f"bearer {API_KEY}"}, None),  # not the apikey scheme
    ):
        status, text = await fx.http("publish", body, headers=headers, api_key=key)
        assert status == 401, f"{headers} X-API-Key={key!r}: HTTP {status} {text!r}"

    assert await position(api) == before
    await sub_marker(api, sub_events, NEWS, "after unauthorized")


async def test_authorization_apikey_header(fx, api):
    """`Authorization: apikey <key>` (what older cent versions send) is accepted."""
    client, _, _ = await connected(fx)
    _, sub_events, _ = await subscribed(client, NEWS)

    status, text = await fx.http(
        "publish",
        {"channel": NEWS, "data": {"auth": "header"}},
        headers={"Authorization": f"apikey {API_KEY}"},
        api_key=None,
    )
    assert status == 200, text
    assert json.loads(text)["result"]["offset"] == 1
    ctx = await within(sub_events.publications.get(), "publication")
    assert ctx.pub.data == {"auth": "header"}


# ---------------------------------------------------------------------------
# bad input


async def test_bad_requests_over_plain_http(fx, api):
    """What cent cannot send: a body that is not JSON (400, 107), a publish without channel
    or without data (107), an unknown method path (404, 104), a GET (405). Nothing is
    published."""
    client, _, _ = await connected(fx)
    _, sub_events, _ = await subscribed(client, NEWS)
    before = await position(api)

    api_error(await fx.http("publish", b'{"channel": "news:updates", "data": '), 400, 107)
    assert await position(api) == before

    api_error(await fx.http("publish", b"not json at all"), 400, 107)
    assert await position(api) == before

    api_error(await fx.http("publish", {"data": {"no": "channel"}}), 200, 107)
    assert await position(api) == before

    api_error(await fx.http("publish", {"channel": NEWS}), 200, 107)  # no data
    assert await position(api) == before

    api_error(await fx.http("nope", {"channel": NEWS, "data": {"x": 1}}), 404, 104)
    assert await position(api) == before

    status, text = await fx.http("publish", {"channel": NEWS, "data": {"x": 1}}, method="GET")
    assert status == 405, f"HTTP {status} {text!r}"
    assert await position(api) == before

    await sub_marker(api, sub_events, NEWS, "after bad requests")


@pytest.mark.parametrize(
    "channel, code",
    [
        ("nope:x", 102),  # namespace not configured
        ("news:with space", 107),
        ("news:tab\there", 107),
        ("news:" + "x" * 251, 107),  # 256 bytes
        ("news:" + "é" * 126, 107),  # 131 characters but 257 bytes
    ],
    ids=["unknown-namespace", "space", "tab", "256-bytes", "257-utf8-bytes"],
)
async def test_bad_channel_is_refused(fx, api, channel, code):
    """publish, broadcast and history into a bad channel name: CentApiResponseError with
    the Centrifugo code, and nothing published anywhere."""
    client, _, _ = await connected(fx)
    _, sub_events, _ = await subscribed(client, NEWS)
    before = await position(api)

    with pytest.raises(CentApiResponseError) as err:
        await api.publish(PublishRequest(channel=channel, data={"bad": True}))
    assert err.value.code == code and err.value.message

    with pytest.raises(CentApiResponseError) as err:
        await api.history(HistoryRequest(channel=channel, limit=10))
    assert err.value.code == code

    result = await api.broadcast(BroadcastRequest(channels=[channel, NEWS], data={"b": 1}))
    bad, good = result.responses
    assert bad.error is not None and bad.error.code == code, bad
    assert good.error is None and good.result.offset == before[0] + 1

    # Only the broadcast's good channel got a publication.
    ctx = await within(sub_events.publications.get(), "broadcast publication")
    assert ctx.pub.data == {"b": 1}
    await sub_marker(api, sub_events, NEWS, "after bad channel")
    assert (await position(api))[0] == before[0] + 2


async def test_longest_channel_name_is_accepted(fx, api):
    """255 bytes is still a valid channel name."""
    channel = "news:" + "x" * 250
    assert len(channel.encode()) == 255
    result = await api.publish(PublishRequest(channel=channel, data={"long": True}))
    assert result.offset == 1


async def test_presence_on_channel_without_presence(fx, api):
    """presence and presence_stats of a channel whose namespace keeps no presence: 108."""
    with pytest.raises(CentApiResponseError) as err:
        await api.presence(PresenceRequest(channel=PLAIN))
    assert err.value.code == 108
    with pytest.raises(CentApiResponseError) as err:
        await api.presence_stats(PresenceStatsRequest(channel=PLAIN))
    assert err.value.code == 108
