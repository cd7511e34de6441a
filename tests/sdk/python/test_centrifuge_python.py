"""End-to-end tests: the official centrifuge-python SDK against the wirecall sdk-fixture server,
every test in both encodings (JSON, and the Protobuf the mobile SDKs speak).

Each test starts its own fixture process (``fx``, conftest.py), talks to it over
stdin/stdout (mint tokens, publish from the server side, restart) and drives a real SDK
client. Tests wait on SDK events (asyncio queues fed by the SDK callbacks); timeouts are
only hang guards. The helpers are in sdk_helpers.py.
"""

import pytest

from centrifuge import ClientState, ReplyError

from sdk_helpers import NEWS, OTHER_USER, USER, ClientEvents, SubEvents, connected_client, subscribed, within


@pytest.fixture(params=["json", "protobuf"])
def encoding(request) -> str:
    """Every test here runs with JSON clients and with Protobuf clients."""
    return request.param


# ---------------------------------------------------------------------------
# tests


async def test_connect_with_valid_token(fx):
    """A valid token connects; test.whoami reports the token's user and this client id."""
    client, _, client_id = await connected_client(fx)
    assert client.state == ClientState.CONNECTED
    assert client_id
    result = await within(client.rpc("test.whoami", fx.encode({})), "whoami rpc")
    assert fx.decode(result.data) == {"user": USER, "client": client_id}


async def test_bad_signature_token_is_refused(fx):
    """A token with a bad signature: the server closes with 3500, which is terminal."""
    events = ClientEvents()
    client = fx.client(events, token=await fx.token(USER, bad_signature=True))
    await within(client.connect(), "connect()")
    ctx = await within(events.disconnected.get(), "disconnected event")
    assert (ctx.code, ctx.reason) == (3500, "invalid token")
    # DISCONNECTED is terminal: the SDK schedules reconnects only from CONNECTING.
    assert client.state == ClientState.DISCONNECTED
    assert events.connected.empty()


async def test_expired_token_calls_get_token(fx):
    """An expired token gets error 109; the SDK calls get_token and connects with the new one."""
    expired = await fx.token(USER, exp_in=-60)
    fresh = await fx.token(USER)
    calls = []

    async def get_token() -> str:
        calls.append(1)
        return fresh

    events = ClientEvents()
    client = fx.client(events, token=expired, get_token=get_token)
    await within(client.connect(), "connect()")
    ctx = await within(events.connected.get(), "connected event after token refresh")
    assert len(calls) == 1
    codes = [e.error.code for e in events.errors if isinstance(e.error, ReplyError)]
    assert 109 in codes  # the server's connect error, reported by the SDK
    result = await within(client.rpc("test.whoami", fx.encode({})), "whoami rpc")
    assert fx.decode(result.data) == {"user": USER, "client": ctx.client}


async def test_rpc_success_and_failure(fx):
    """test.echo round-trips a nested object; test.fail raises ReplyError 1001."""
    client, _, _ = await connected_client(fx)
    payload = {
        "a": 1,
        "nested": {"list": [1, "two", {"three": 3.5}], "flag": True, "nothing": None},
        "text": "héllo ✓",
    }
    result = await within(client.rpc("test.echo", fx.encode(payload)), "echo rpc")
    assert fx.decode(result.data) == payload

    with pytest.raises(ReplyError) as err:
        await within(client.rpc("test.fail", fx.encode({})), "fail rpc")
    assert (err.value.code, err.value.message) == (1001, "custom app error")
    assert client.state == ClientState.CONNECTED  # RPC errors never disconnect


async def test_subscribe_receives_server_publication(fx):
    """A server-side publish reaches the subscription with exactly the published data."""
    client, _, _ = await connected_client(fx)
    _, events, _ = await subscribed(client, NEWS)
    data = {"headline": "hello", "tags": ["a", "b"], "n": 1}
    await fx.publish(NEWS, data)
    ctx = await within(events.publications.get(), "publication")
    assert fx.decode(ctx.pub.data) == data


async def test_client_publish_reaches_other_subscribers(fx):
    """A subscriber publishes into news; another user's subscription receives the data with
    the publisher's client info."""
    publisher, _, publisher_id = await connected_client(fx)
    reader, _, _ = await connected_client(fx, OTHER_USER)
    _, events, _ = await subscribed(reader, NEWS)
    sub, _, _ = await subscribed(publisher, NEWS)
    data = {"from": "a client", "n": [1, 2]}
    await within(sub.publish(fx.encode(data)), "publish()")
    ctx = await within(events.publications.get(), "client publication")
    assert fx.decode(ctx.pub.data) == data
    assert (ctx.pub.info.user, ctx.pub.info.client) == (USER, publisher_id)


async def test_personal_channel(fx):
    """The server subscribes the client to personal:#u1; a personal publish reaches the
    client-level publication handler."""
    client, events, _ = await connected_client(fx)
    channel = f"personal:#{USER}"
    sub = await within(events.server_subscribed.get(), "server-side subscribed event")
    assert sub.channel == channel
    data = {"note": "for you only"}
    await fx.cmd(cmd="personal", user=USER, data=data)
    ctx = await within(events.publications.get(), "personal publication")
    assert ctx.channel == channel
    assert fx.decode(ctx.pub.data) == data


async def test_presence_and_history(fx):
    """Presence lists this client; stats count 1 client / 1 user; history returns the 3
    publications in order with their offsets."""
    client, _, client_id = await connected_client(fx)
    sub, _, _ = await subscribed(client, NEWS)

    presence = await within(sub.presence(), "presence")
    assert client_id in presence.clients
    assert presence.clients[client_id].user == USER
    assert presence.clients[client_id].client == client_id

    stats = await within(sub.presence_stats(), "presence stats")
    assert (stats.num_clients, stats.num_users) == (1, 1)

    sent = [{"h": 1}, {"h": 2}, {"h": 3}]
    offsets = [(await fx.publish(NEWS, d))["offset"] for d in sent]
    history = await within(sub.history(limit=10), "history")
    assert [fx.decode(p.data) for p in history.publications] == sent
    assert [p.offset for p in history.publications] == offsets
    assert offsets == list(range(offsets[0], offsets[0] + 3))
    assert history.offset == offsets[-1]
    assert history.epoch


async def test_subscribe_refused(fx):
    """chat:#other_user is refused with 103 (permission denied), nope:x with 102."""
    client, _, _ = await connected_client(fx)
    for channel, code in (("chat:#other_user", 103), ("nope:x", 102)):
        events = SubEvents()
        sub = client.new_subscription(channel, events=events)
        await within(sub.subscribe(), "subscribe()")
        ctx = await within(events.unsubscribed.get(), f"unsubscribed event on {channel}")
        assert ctx.code == code, f"{channel}: {ctx}"
        assert events.subscribed.empty()


async def test_restart_recovers_missed_publications(fx):
    """After a server restart (close 3001) the SDK reconnects, resubscribes with recovery
    and gets exactly the 3 publications made while it was away, in order."""
    client, events, _ = await connected_client(fx)
    sub, sub_events, first = await subscribed(client, NEWS, recoverable=True, positioned=True)
    assert first.recoverable and not first.was_recovering

    await fx.publish(NEWS, {"n": 0})
    before = await within(sub_events.publications.get(), "publication before restart")
    assert fx.decode(before.pub.data) == {"n": 0}

    missed = [{"n": 1}, {"n": 2}, {"n": 3}]
    await fx.cmd(cmd="restart", publish=[{"channel": NEWS, "data": d} for d in missed])

    # Connecting events: the one from connect(), then the server's shutdown close.
    await within(events.connecting.get(), "connecting event from connect()")
    shutdown = await within(events.connecting.get(), "connecting event after restart")
    assert shutdown.code == 3001

    again = await within(sub_events.subscribed.get(), "subscribed event after restart")
    assert again.was_recovering and again.recovered

    got = [await within(sub_events.publications.get(), "recovered publication") for _ in missed]
    assert [fx.decode(c.pub.data) for c in got] == missed
    assert [c.pub.offset for c in got] == [before.pub.offset + i for i in (1, 2, 3)]

    # Nothing else was delivered: the next thing the subscription sees is a new publish.
    await fx.publish(NEWS, {"n": "after"})
    after = await within(sub_events.publications.get(), "publication after recovery")
    assert fx.decode(after.pub.data) == {"n": "after"}
    assert sub_events.publications.empty()
    assert sub_events.subscribed.empty()
