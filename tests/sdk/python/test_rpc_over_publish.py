"""RPC over publications, for the clients seed 001's generator wrote: a small client
written to that documented protocol with the official centrifuge-python SDK (subscribe to
`user#<id>`, publish `{method, params, correlation_id, reply_to}` into `rpc.requests`,
match the reply by `correlation_id`), against a fixture server that opts in
(`rpc_over_publish`). Both encodings."""

import uuid
from typing import Any, Dict

import pytest
from centrifuge import Client, ReplyError

from sdk_helpers import OTHER_USER, USER, SubEvents, connected_client, subscribed, within


@pytest.fixture(params=["json", "protobuf"])
def encoding(request) -> str:
    """Every test here runs with JSON clients and with Protobuf clients."""
    return request.param


class LegacyRPCClient:
    """What seed 001's base RPC client does: requests into `rpc.requests`, replies on
    the user's own channel, matched by correlation id."""

    def __init__(self, fx, client: Client, user: str) -> None:
        self.fx = fx
        self.client = client
        self.reply_to = f"user#{user}"
        self.replies: SubEvents | None = None

    async def start(self) -> None:
        _, self.replies, _ = await subscribed(self.client, self.reply_to)

    async def send(self, method: str, params: Any, reply_to: str | None = None) -> str:
        correlation_id = str(uuid.uuid4())
        request = {
            "method": method,
            "params": params,
            "correlation_id": correlation_id,
            "reply_to": reply_to or self.reply_to,
        }
        await self.client.publish("rpc.requests", self.fx.encode(request))
        return correlation_id

    async def reply(self, correlation_id: str) -> Dict[str, Any]:
        assert self.replies is not None
        ctx = await within(self.replies.publications.get(), f"reply {correlation_id}")
        reply = self.fx.decode(ctx.pub.data)
        assert reply["correlation_id"] == correlation_id, reply
        return reply


async def legacy_client(fx, user: str = USER) -> LegacyRPCClient:
    client, _, _ = await connected_client(fx, user)
    legacy = LegacyRPCClient(fx, client, user)
    await legacy.start()
    return legacy


async def test_a_published_request_is_answered_on_the_callers_channel(fx):
    legacy = await legacy_client(fx)
    sent = await legacy.send("test.echo", {"n": 1, "s": "x"})
    assert await legacy.reply(sent) == {"correlation_id": sent, "result": {"n": 1, "s": "x"}}
    sent = await legacy.send("test.whoami", None)
    reply = await legacy.reply(sent)
    assert reply["result"]["user"] == USER


async def test_errors_come_back_with_their_code(fx):
    legacy = await legacy_client(fx)
    for method, params, code in [
        ("test.nope", {}, 104),
        ("test.fail", None, 1001),
        ("test.sleep", "not a number", 107),
        ("test.panic", None, 100),
    ]:
        sent = await legacy.send(method, params)
        reply = await legacy.reply(sent)
        assert "result" not in reply, reply
        assert reply["error"]["code"] == code, (method, reply)
        assert reply["error"]["message"], reply
    # The connection still serves ordinary RPC and published requests after all that.
    sent = await legacy.send("test.echo", [1])
    assert (await legacy.reply(sent))["result"] == [1]


async def test_replies_go_only_to_the_caller(fx):
    legacy = await legacy_client(fx)
    # reply_to naming another user's channel is refused; nothing is published there.
    with pytest.raises(ReplyError) as refused:
        await within(legacy.send("test.echo", {}, reply_to=f"user#{OTHER_USER}"), "refused publish")
    assert refused.value.code == 103
    with pytest.raises(ReplyError) as malformed:
        await within(legacy.client.publish("rpc.requests", fx.encode({"method": "test.echo"})), "malformed")
    assert malformed.value.code == 107
    # Nobody else can listen on a user's reply channel.
    other, _, _ = await connected_client(fx, OTHER_USER)
    events = SubEvents()
    spy = other.new_subscription(f"user#{USER}", events=events)
    await within(spy.subscribe(), "subscribe()")
    ctx = await within(events.unsubscribed.get(), "refused subscription")
    assert ctx.code == 103
    # The caller's own calls still work, and no stray reply arrived before this one.
    sent = await legacy.send("test.echo", "ok")
    assert await legacy.reply(sent) == {"correlation_id": sent, "result": "ok"}
    assert legacy.replies is not None and legacy.replies.publications.empty()
