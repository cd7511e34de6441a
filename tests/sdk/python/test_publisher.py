"""The generated Python publisher (`fixture_client.publisher`), sync and async, against
the Rust helpers: the same operation from Rust (the fixture's `messaging` command over the
HTTP API client) and from Python produces the same JSON at a centrifuge-python subscriber
(timestamps aside) and the same `delivered` / count results. Then the documented errors:
a wrong key, a server that is down, invalid arguments (nothing sent)."""

import asyncio
import socket
import sys
import uuid
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict

import pytest

from sdk_helpers import OTHER_USER, REPO, USER, connected, next_personal, subscribed, within

sys.path.insert(0, str(Path(REPO) / "target" / "clients" / "py"))

from fixture_client.models import ChatMessage, StoryEventEdited  # noqa: E402
from fixture_client.publisher import (  # noqa: E402 (after the path is set)
    AsyncPublisher,
    InvalidArgument,
    Publisher,
    PublishError,
    Refused,
    Unauthorized,
    Unreachable,
)
API_KEY = "sdk-test-api-key"  # the test servers' (tests/lib.rs)
ABSENT = "u3"  # never connects


OPEN: list[AsyncPublisher] = []


@pytest.fixture(autouse=True)
async def close_async_publishers():
    """Every AsyncPublisher a test made is closed after it (aiohttp sessions)."""
    yield
    while OPEN:
        await OPEN.pop().close()


def async_publisher(api_url: str, key: str, **options: Any) -> AsyncPublisher:
    publisher = AsyncPublisher(api_url, key, **options)
    OPEN.append(publisher)
    return publisher


def spy_requests(publisher: Any) -> list[str]:
    """The requests `publisher`'s HTTP client makes from now on, by method (a bad argument
    must make none, wherever the call would have published)."""
    made: list[str] = []
    client = publisher._client
    for name in ("publish", "_send"):
        real = getattr(client, name)

        def spy(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            made.append(_name)
            return _real(*args, **kwargs)

        setattr(client, name, spy)
    return made


def without_time(payload: Any) -> Any:
    """A payload with its timestamp taken out (each side stamps its own)."""
    if isinstance(payload, dict):
        return {k: v for k, v in payload.items() if k != "timestamp"}
    return payload


class Side:
    """One way to run an operation: Rust over HTTP, the sync publisher (in a thread, as a
    Django view would) or the async one."""

    def __init__(self, name: str, run: Callable[..., Awaitable[Any]]) -> None:
        self.name, self.run = name, run


def sides(fx) -> list[Side]:
    sync = Publisher(fx.api_url, API_KEY)
    async_ = async_publisher(fx.api_url, API_KEY)

    async def rust(action: str, **fields: Any) -> Any:
        return await fx.cmd(cmd="messaging", via="http", action=action, **fields)

    async def in_thread(action: str, **fields: Any) -> Any:
        return await asyncio.to_thread(lambda: python_call(sync, action, fields))

    async def awaited(action: str, **fields: Any) -> Any:
        return await python_call(async_, action, fields)

    return [Side("rust", rust), Side("sync", in_thread), Side("async", awaited)]


def python_call(publisher: Any, action: str, fields: Dict[str, Any]) -> Any:
    """The Python spelling of a fixture `messaging` action."""
    if action == "send_message":
        return publisher.send_message(fields["user"], fields["message"], fields.get("data"))
    if action == "send_notification":
        return publisher.send_notification(
            fields["user"], fields["message"], fields.get("kind", "info"), fields.get("title", ""),
            fields.get("data"),
        )
    if action == "send_file":
        return publisher.send_file(
            fields["user"], fields["file_url"], fields.get("file_name"),
            fields.get("message", "File ready for download"), fields.get("file_size"),
        )
    if action == "broadcast_message":
        return publisher.broadcast_message(fields["message"], fields["users"])
    raise AssertionError(action)


def result_of(side: str, answer: Any) -> Any:
    """The comparable result: `delivered` (or the count) on every side."""
    if side == "rust":
        return answer["reached"] if "reached" in answer else answer["delivered"]
    return answer


OPERATIONS = [
    ("send_message", {"user": USER, "message": "Hello from the shell!"}),
    ("send_message", {"user": USER, "message": "with data", "data": {"n": 1, "list": [1, "a"]}}),
    ("send_notification", {"user": USER, "message": "Saved", "kind": "success", "title": "Report"}),
    ("send_notification", {"user": USER, "message": "defaults"}),
    ("send_file", {"user": USER, "file_url": "https://files.example/r/report.pdf?sig=1"}),
    ("send_file", {"user": USER, "file_url": "https://x.example/a.csv", "file_name": "a.csv",
                   "message": "Ready", "file_size": 2048}),
]


@pytest.mark.parametrize("action,fields", OPERATIONS)
async def test_every_side_publishes_the_same_payload_and_result(fx, action, fields):
    _, events, _ = await connected(fx, USER)
    payloads, results = {}, {}
    for side in sides(fx):
        answer = await within(side.run(action, **fields), f"{side.name} {action}")
        results[side.name] = result_of(side.name, answer)
        ctx = await next_personal(events, USER, f"{side.name} {action}")
        payloads[side.name] = ctx.pub.data
        assert "timestamp" in ctx.pub.data, ctx.pub.data
    assert results == {"rust": True, "sync": True, "async": True}, results
    rust = without_time(payloads["rust"])
    for name in ("sync", "async"):
        assert without_time(payloads[name]) == rust, (name, payloads[name], payloads["rust"])


async def test_delivered_is_false_for_a_user_without_a_connection(fx):
    for side in sides(fx):
        answer = await side.run("send_message", user=ABSENT, message="later")
        assert result_of(side.name, answer) is False, side.name


async def test_broadcast_counts_the_users_reached_each_once(fx):
    _, mine, _ = await connected(fx, USER)
    _, theirs, _ = await connected(fx, OTHER_USER)
    users = [USER, OTHER_USER, ABSENT, USER]
    for side in sides(fx):
        answer = await side.run("broadcast_message", message="All hands", users=users)
        assert result_of(side.name, answer) == 2, side.name
        for events, user in ((mine, USER), (theirs, OTHER_USER)):
            ctx = await next_personal(events, user, f"{side.name} broadcast")
            assert without_time(ctx.pub.data) == {
                "type": "user.message", "username": user, "message": "All hands", "data": {},
            }


async def test_task_progress_is_the_same_from_every_side(fx):
    client, _, _ = await connected(fx, USER)
    channel = "news:task-contract"
    _, sub_events, _ = await subscribed(client, channel)
    sync = Publisher(fx.api_url, API_KEY).task("t1", channel)
    async_task = async_publisher(fx.api_url, API_KEY).task("t1", channel)
    steps = [
        {"update": {"status": "queued", "message": "waiting", "progress": 0}},
        {"update": {"message": "half", "progress": 50, "data": {"rows": 5}}},
        {"complete": {"message": "done", "result": {"rows": 10}}},
        {"error": {"error": "E42", "message": "failed"}},
    ]
    await fx.cmd(cmd="messaging", via="http", action="task", task_id="t1", channel=channel,
                 steps=steps)
    await asyncio.to_thread(lambda: (
        sync.update("waiting", 0, status="queued"), sync.update("half", 50, {"rows": 5}),
        sync.complete("done", {"rows": 10}), sync.error("E42", "failed"),
    ))
    await async_task.update("waiting", 0, status="queued")
    await async_task.update("half", 50, {"rows": 5})
    await async_task.complete("done", {"rows": 10})
    await async_task.error("E42", "failed")
    received = [
        (await within(sub_events.publications.get(), f"task event {i}")).pub.data
        for i in range(12)
    ]
    rust, from_sync, from_async = received[0:4], received[4:8], received[8:12]
    assert from_sync == rust and from_async == rust, received
    assert [event["type"] for event in rust] == [
        "task_update", "task_update", "task_complete", "task_error"
    ]
    assert rust[0]["status"] == "queued"


async def test_typed_families_publish_what_rust_publishes(fx):
    """publish_news_story / publish_chat_inbox, sync and async: the channel the Rust typed
    publisher names, the same JSON; a user name that would name another channel is refused
    before anything is sent."""
    client, _, _ = await connected(fx, USER)
    story = uuid.UUID("0b5e0c1e-3c4f-4a8e-9d7a-5f1f2b3c4d5e")
    _, stories, _ = await subscribed(client, f"news:story:{story}")
    _, inbox, _ = await subscribed(client, f"chat:inbox:-1#{USER}")
    sync, async_ = Publisher(fx.api_url, API_KEY), async_publisher(fx.api_url, API_KEY)
    edited = StoryEventEdited(kind="edited", title="New title", revision=2)
    message = ChatMessage(author="ann", text="hi")

    await fx.cmd(cmd="typed", via="http", family="news_story", story_id=str(story),
                 payload={"kind": "edited", "title": "New title", "revision": 2})
    await asyncio.to_thread(sync.publish_news_story, story, edited)
    await async_.publish_news_story(story, edited)
    await fx.cmd(cmd="typed", via="http", family="chat_inbox", inbox=-1, user=USER,
                 payload={"author": "ann", "text": "hi"})
    await asyncio.to_thread(sync.publish_chat_inbox, -1, USER, message)
    await async_.publish_chat_inbox(-1, USER, message)
    for events, what in ((stories, "story event"), (inbox, "inbox message")):
        got = [(await within(events.publications.get(), f"{what} {i}")).pub.data
               for i in range(3)]
        assert got[1] == got[0] and got[2] == got[0], got

    sync_made, async_made = spy_requests(sync), spy_requests(async_)
    for bad in ("", "u1,u2", "u1 u2", "a#b", "tab\there"):
        with pytest.raises(InvalidArgument, match="user"):
            sync.publish_chat_inbox(-1, bad, message)
        with pytest.raises(InvalidArgument, match="user"):
            await async_.publish_chat_inbox(-1, bad, message)
    # Integers within the Rust type's range (i32), UUIDs as UUIDs.
    for publisher in (sync, async_):
        for bad_call in (lambda: publisher.publish_chat_inbox(2**31, USER, message),
                         lambda: publisher.publish_chat_inbox(True, USER, message),
                         lambda: publisher.publish_news_story(str(story), edited)):
            with pytest.raises(InvalidArgument):
                result = bad_call()
                if asyncio.iscoroutine(result):
                    await result
    assert sync_made == [] and async_made == [], (sync_made, async_made)
    await async_.publish_chat_inbox(-1, USER, ChatMessage(author="ann", text="marker"))
    ctx = await within(inbox.publications.get(), "the marker")
    assert ctx.pub.data["text"] == "marker"
    assert async_made, "the spy sees a request that is made"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_documented_errors(fx):
    _, events, _ = await connected(fx, USER)
    wrong_key = Publisher(fx.api_url, "not-the-key")
    with pytest.raises(Unauthorized):
        await asyncio.to_thread(wrong_key.send_message, USER, "x")
    with pytest.raises(Unauthorized):
        await async_publisher(fx.api_url, "not-the-key").send_message(USER, "x")
    down = f"http://127.0.0.1:{free_port()}/api"
    with pytest.raises(Unreachable):
        await asyncio.to_thread(Publisher(down, API_KEY, timeout=2).is_connected, USER)
    with pytest.raises(Unreachable):
        await async_publisher(down, API_KEY, timeout=2).is_connected(USER)
    for publisher in (Publisher(fx.api_url, API_KEY), async_publisher(fx.api_url, API_KEY)):
        made = spy_requests(publisher)
        task = publisher.task("t9", "news:task-9")
        for bad in (lambda: task.update("x", 101), lambda: task.update("x", -1),
                    lambda: task.update("x", 50.5), lambda: task.update("x", True),
                    lambda: task.update("x", 5, status="done"),
                    lambda: task.update("x", 5, {"not json": object()}),
                    lambda: publisher.send_message("", "x"),
                    lambda: publisher.send_message(USER, "x", {"not json": object()}),
                    lambda: publisher.send_notification(USER, "x", "shout"),
                    lambda: publisher.broadcast_message("x", [USER, ""])):
            with pytest.raises(InvalidArgument):
                result = bad()
                if asyncio.iscoroutine(result):
                    await result
        assert made == [], made
        result = publisher.is_connected(USER)
        if asyncio.iscoroutine(result):
            await result
        assert made, "the spy sees a request that is made"
    # A refusal by the server (its check of the channel name) is Refused, with the code.
    with pytest.raises(Refused) as refused:
        await asyncio.to_thread(Publisher(fx.api_url, API_KEY).publish, "", {})
    assert refused.value.code == 107, refused.value
    with pytest.raises(Refused):
        await async_publisher(fx.api_url, API_KEY).publish("", {})
    # Nothing of the above was sent: the next publication is this marker.
    await asyncio.to_thread(Publisher(fx.api_url, API_KEY).send_message, USER, "marker")
    ctx = await next_personal(events, USER, "marker")
    assert ctx.pub.data["message"] == "marker"
    assert issubclass(InvalidArgument, PublishError) and issubclass(InvalidArgument, ValueError)


async def test_configuration_from_the_environment(fx, monkeypatch):
    _, events, _ = await connected(fx, USER)
    monkeypatch.setenv("WIRECALL_API_URL", fx.api_url)
    monkeypatch.setenv("WIRECALL_API_KEY", API_KEY)
    assert await asyncio.to_thread(lambda: Publisher().send_message(USER, "Hello from the shell!"))
    ctx = await next_personal(events, USER, "env-configured message")
    assert ctx.pub.data["message"] == "Hello from the shell!"
    monkeypatch.delenv("WIRECALL_API_URL")
    with pytest.raises(PublishError, match="WIRECALL_API_URL"):
        Publisher()
