"""The connection to a wirecall server, over the official centrifuge-python SDK.

`CentrifugoRPCClient` connects with a token, calls methods by name (an error
reply raises `RPCError` with its code and message) and hands out
subscriptions whose publications are validated into the generated models.
The SDK reconnects by itself; calls made while it does wait for it. With
`protobuf=True` it speaks the Protobuf encoding (the `centrifuge-protobuf`
subprotocol, as the mobile SDKs do); payloads are JSON either way.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Generic, TypeVar

import centrifuge  # type: ignore[import-untyped]
from pydantic import TypeAdapter, ValidationError

T = TypeVar("T")

log = logging.getLogger("wirecall.client")


class RPCError(Exception):
    """An error reply of the server.

    `code` is the protocol's (100 internal, 103 permission denied, 104 method
    not found, 107 bad request, ...) or the application's (400 to 1999).
    `temporary` says whether the same call may succeed if retried.
    """

    def __init__(self, code: int, message: str, temporary: bool = False) -> None:
        super().__init__(f"{message} (code {code})")
        self.code = code
        self.message = message
        self.temporary = temporary


class ConnectError(Exception):
    """The server refused the connection (`code` is its disconnect code, for
    example 3500 for an invalid token), or it could not be reached in time."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"cannot connect: {reason} (code {code})")
        self.code = code
        self.reason = reason


def _value(data: Any) -> Any:
    """A payload as a value: the Protobuf encoding hands over its JSON bytes
    (empty bytes are no value)."""
    if isinstance(data, (bytes, bytearray)):
        return json.loads(data) if data else None
    return data


class Subscription(Generic[T]):
    """The publications of one channel, validated as `T`, in order.

    Iterate with `async for value in subscription`, or `await
    subscription.next()`. A publication that does not validate is logged and
    skipped (the channel may carry other payloads).
    """

    def __init__(self, channel: str, adapter: TypeAdapter[T], protobuf: bool = False) -> None:
        self.channel = channel
        self._adapter = adapter
        self._protobuf = protobuf
        self._queue: asyncio.Queue[T] = asyncio.Queue()
        self._sdk: Any = None

    def _deliver(self, data: Any) -> None:
        try:
            value = self._adapter.validate_python(_value(data))
        except (ValidationError, ValueError) as error:
            log.warning("skipped a publication on %s: %s", self.channel, error)
            return
        self._queue.put_nowait(value)

    async def next(self, timeout: float | None = None) -> T:
        """The next publication; `asyncio.TimeoutError` after `timeout`."""
        return await asyncio.wait_for(self._queue.get(), timeout)

    def __aiter__(self) -> Subscription[T]:
        return self

    async def __anext__(self) -> T:
        return await self._queue.get()

    async def publish(self, value: T) -> None:
        """Publishes `value` into the channel, where its namespace lets
        clients publish. A refusal raises `RPCError`: 103 when publishing is
        not allowed, 107 when the server's check of a declared family's
        payload fails (the message names the field)."""
        if self._sdk is None:
            raise RPCError(108, "a server-side subscription cannot publish", False)
        data = self._adapter.dump_python(value, mode="json", by_alias=True, exclude_none=True)
        payload = json.dumps(data).encode() if self._protobuf else data
        try:
            await self._sdk.publish(payload)
        except centrifuge.ReplyError as error:
            raise RPCError(error.code, error.message, error.temporary) from None

    async def unsubscribe(self) -> None:
        """Leaves the channel (server-side subscriptions stay)."""
        if self._sdk is not None:
            await self._sdk.unsubscribe()


class _ClientEvents(centrifuge.ClientEventHandler):  # type: ignore[misc]
    def __init__(self, owner: CentrifugoRPCClient) -> None:
        self._owner = owner

    async def on_disconnected(self, ctx: Any) -> None:
        self._owner._disconnected = (ctx.code, ctx.reason)

    async def on_publication(self, ctx: Any) -> None:
        for subscription in self._owner._server_side.get(ctx.channel, []):
            subscription._deliver(ctx.pub.data)


class _SubscriptionEvents(centrifuge.SubscriptionEventHandler):  # type: ignore[misc]
    def __init__(self, subscription: Subscription[Any]) -> None:
        self._subscription = subscription
        self.unsubscribed: tuple[int, str] | None = None

    async def on_unsubscribed(self, ctx: Any) -> None:
        self.unsubscribed = (ctx.code, ctx.reason)

    async def on_publication(self, ctx: Any) -> None:
        self._subscription._deliver(ctx.pub.data)


class CentrifugoRPCClient:
    """One connection to a wirecall server.

    `url` is its WebSocket endpoint (`ws://host:8000/connection/websocket`),
    `token` a connection JWT whose `sub` is `user_id`. The user's personal
    channel is `<personal_namespace>:#<user_id>`; the server subscribes every
    connection to it. `protobuf=True` speaks the Protobuf encoding.
    """

    def __init__(
        self,
        url: str,
        token: str,
        user_id: str = "",
        *,
        personal_namespace: str = "personal",
        timeout: float = 10.0,
        protobuf: bool = False,
    ) -> None:
        self.url = url
        self.user_id = user_id
        self.personal_channel = f"{personal_namespace}:#{user_id}"
        self.timeout = timeout
        self.protobuf = protobuf
        self._disconnected: tuple[int, str] | None = None
        self._server_side: dict[str, list[Subscription[Any]]] = {}
        self._sdk = centrifuge.Client(
            url, token=token, events=_ClientEvents(self), timeout=timeout, use_protobuf=protobuf
        )

    async def connect(self) -> None:
        """Connects and waits until the server accepted the connection."""
        self._disconnected = None
        await self._sdk.connect()
        try:
            await self._sdk.ready(self.timeout)
        except Exception as error:
            code, reason = self._disconnected or (0, str(error))
            raise ConnectError(code, reason) from None

    async def disconnect(self) -> None:
        """Closes the connection; no reconnect follows."""
        await self._sdk.disconnect()

    async def call(self, method: str, params: Any) -> Any:
        """Calls `method` with JSON-ready `params`; returns the result's JSON."""
        data = json.dumps(params).encode() if self.protobuf else params
        try:
            reply = await self._sdk.rpc(method, data, self.timeout)
        except centrifuge.ReplyError as error:
            raise RPCError(error.code, error.message, error.temporary) from None
        return _value(reply.data)

    async def subscribe(self, channel: str, adapter: TypeAdapter[T]) -> Subscription[T]:
        """Subscribes to `channel` (with recovery, so nothing is missed over a
        reconnect) and waits until the server confirmed it."""
        subscription = Subscription(channel, adapter, self.protobuf)
        events = _SubscriptionEvents(subscription)
        sdk = self._sdk.new_subscription(channel, events=events, recoverable=True, positioned=True)
        subscription._sdk = sdk
        await sdk.subscribe()
        try:
            await sdk.ready(self.timeout)
        except Exception as error:
            self._sdk.remove_subscription(sdk)
            code, reason = events.unsubscribed or (0, str(error))
            raise RPCError(code, reason) from None
        return subscription

    def server_side(self, channel: str, adapter: TypeAdapter[T]) -> Subscription[T]:
        """Publications of a channel the server subscribed this connection to.
        Create it before `connect()` to see everything from the start."""
        subscription = Subscription(channel, adapter)
        self._server_side.setdefault(channel, []).append(subscription)
        return subscription
