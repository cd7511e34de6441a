"""End-to-end tests of the messaging helpers and the task notifier, as a real
centrifuge-python client receives them.

The fixture's `messaging` command (tests/sdk/README.md, "Messaging through the fixture")
runs send_message, send_notification, send_file, broadcast_message and the task notifier
either through the server's in-process publisher (`via: "server"`) or through the HTTP API
client (`via: "http"`); every test runs both ways and asserts the whole payload the SDK
delivers, in order.

Like test_centrifuge_python.py: one fixture process per test, synchronisation on SDK
events (asyncio queues fed by the callbacks), timeouts only as hang guards; the shared
helpers are in sdk_helpers.py. "Nothing else arrived" is shown with a marker: publish
something afterwards and check it is the next thing the client sees, at the next stream
offset.
"""

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List

import pytest

from sdk_helpers import (
    OTHER_USER,
    USER,
    ClientEvents,
    Fixture,
    SubEvents,
    connected,
    next_personal,
    subscribed,
    within,
)

ABSENT_USER = "u3"  # never connects
VIAS = ["server", "http"]

# RFC 3339 date-time (a "T" separator, seconds, optional fraction, an explicit offset).
RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?P<offset>Z|[+-]\d{2}:\d{2})$"
)
CLOCK_SLACK = timedelta(seconds=2)  # the stamp is taken in the server, on the same clock

via_param = pytest.mark.parametrize("via", VIAS)


# ---------------------------------------------------------------------------
# helpers


class MessagingFixture(Fixture):
    """The sdk-fixture process, with its `messaging` command."""

    async def messaging(self, via: str, action: str, **fields) -> Dict[str, Any]:
        """Run a messaging helper; its `OK` JSON (an `ERR` answer fails the test)."""
        return await self.cmd(cmd="messaging", via=via, action=action, **fields)

    async def messaging_error(self, via: str, action: str, **fields) -> str:
        """Run a messaging helper that must fail; returns the `ERR` line."""
        command = dict(cmd="messaging", via=via, action=action, **fields)
        line = await self.send(**command)
        assert line.startswith("ERR "), f"{command} should have failed, got {line!r}"
        return line


@pytest.fixture
def fixture_class():
    """`fx` (conftest.py) is a MessagingFixture in this module."""
    return MessagingFixture


def now() -> datetime:
    return datetime.now(timezone.utc)


def without_timestamp(data: Dict[str, Any], since: datetime) -> Dict[str, Any]:
    """Check `timestamp` is an RFC 3339 UTC date-time taken between `since` and now, and
    return the payload without it."""
    assert isinstance(data, dict), data
    payload = dict(data)
    stamp = payload.pop("timestamp", None)
    assert isinstance(stamp, str), f"timestamp missing or not a string in {data}"
    match = RFC3339.match(stamp)
    assert match, f"timestamp {stamp!r} is not RFC 3339"
    assert match["offset"] in ("Z", "+00:00"), f"timestamp {stamp!r} is not UTC"
    when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert since - CLOCK_SLACK <= when <= now() + CLOCK_SLACK, (stamp, since)
    return payload


async def personal_marker(fx: MessagingFixture, user: str, tag: str, *all_events: ClientEvents):
    """Publish a marker to `user`'s personal channel and assert it is the next client-level
    publication each of `all_events` sees; returns the marker's offset."""
    data = {"marker": tag}
    offset = (await fx.cmd(cmd="personal", user=user, data=data))["offset"]
    for events in all_events:
        ctx = await next_personal(events, user, f"marker {tag}")
        assert (ctx.pub.data, ctx.pub.offset) == (data, offset)
    return offset


# ---------------------------------------------------------------------------
# send_message


@via_param
async def test_send_message(fx, via):
    """send_message: a user.message on the user's personal channel, with `data` as given
    (`{}` when absent), at the offset the helper reports, in order."""
    _, events, _ = await connected(fx)
    data = {"order": 42, "items": ["a", {"b": None}], "ok": True}

    since = now()
    first = await fx.messaging(via, "send_message", user=USER, message="héllo ✓", data=data)
    second = await fx.messaging(via, "send_message", user=USER, message="no data")
    assert first["delivered"] is True and second["delivered"] is True, (first, second)
    assert second["offset"] == first["offset"] + 1

    got = [await next_personal(events, USER, "user.message") for _ in range(2)]
    assert [without_timestamp(ctx.pub.data, since) for ctx in got] == [
        {"type": "user.message", "username": USER, "message": "héllo ✓", "data": data},
        {"type": "user.message", "username": USER, "message": "no data", "data": {}},
    ]
    assert [ctx.pub.offset for ctx in got] == [first["offset"], second["offset"]]
    await personal_marker(fx, USER, "after send_message", events)


@via_param
async def test_send_message_to_absent_user_and_empty_user(fx, via):
    """A user with no connection: delivered false, not an error, and the connected user
    gets nothing. An empty user name: ERR, nothing published."""
    _, events, _ = await connected(fx)

    absent = await fx.messaging(via, "send_message", user=ABSENT_USER, message="anyone?")
    assert absent["delivered"] is False, absent

    line = await fx.messaging_error(via, "send_message", user="", message="to nobody")
    assert "user" in line, line

    await personal_marker(fx, USER, "after absent/empty", events)
    assert events.publications.empty()


# ---------------------------------------------------------------------------
# send_notification


@via_param
async def test_send_notification(fx, via):
    """send_notification: a user.notification per kind, in order; without kind, title and
    data it is an info with an empty title and `{}`."""
    _, events, _ = await connected(fx)
    since = now()
    expected = []
    for kind in ("success", "error", "info", "warning"):
        data = {"kind": kind, "n": len(expected)}
        answer = await fx.messaging(
            via,
            "send_notification",
            user=USER,
            message=f"{kind} message",
            kind=kind,
            title=f"{kind.title()} title",
            data=data,
        )
        assert answer["delivered"] is True, answer
        expected.append(
            {
                "type": "user.notification",
                "username": USER,
                "notification_type": kind,
                "title": f"{kind.title()} title",
                "message": f"{kind} message",
                "data": data,
            }
        )
    answer = await fx.messaging(via, "send_notification", user=USER, message="plain")
    assert answer["delivered"] is True, answer
    expected.append(
        {
            "type": "user.notification",
            "username": USER,
            "notification_type": "info",
            "title": "",
            "message": "plain",
            "data": {},
        }
    )

    got = [await next_personal(events, USER, "user.notification") for _ in expected]
    assert [without_timestamp(ctx.pub.data, since) for ctx in got] == expected
    await personal_marker(fx, USER, "after send_notification", events)


@via_param
async def test_send_notification_to_absent_and_empty_user(fx, via):
    """delivered false for a user with no connection; ERR for an empty user name."""
    _, events, _ = await connected(fx)
    answer = await fx.messaging(
        via, "send_notification", user=ABSENT_USER, message="anyone?", kind="warning"
    )
    assert answer["delivered"] is False, answer
    await fx.messaging_error(via, "send_notification", user="", message="to nobody")
    await personal_marker(fx, USER, "after absent/empty", events)


# ---------------------------------------------------------------------------
# send_file


@via_param
async def test_send_file(fx, via):
    """send_file with every field; then with only the URL: the name comes from the URL's
    last path segment (query string dropped), the message is "File ready for download",
    no size."""
    _, events, _ = await connected(fx)
    since = now()

    full = await fx.messaging(
        via,
        "send_file",
        user=USER,
        file_url="https://files.example/exports/2024/q3.csv?sig=abc",
        file_name="Quarter 3 — report.csv",
        message="Your export is ready",
        file_size=123456,
    )
    minimal = await fx.messaging(
        via,
        "send_file",
        user=USER,
        file_url="https://files.example/downloads/report.pdf?token=xyz&x=1",
    )
    assert full["delivered"] is True and minimal["delivered"] is True, (full, minimal)

    got = [await next_personal(events, USER, "user.file") for _ in range(2)]
    assert [without_timestamp(ctx.pub.data, since) for ctx in got] == [
        {
            "type": "user.file",
            "username": USER,
            "file_url": "https://files.example/exports/2024/q3.csv?sig=abc",
            "file_name": "Quarter 3 — report.csv",
            "file_size": 123456,
            "message": "Your export is ready",
            "data": {},
        },
        {
            "type": "user.file",
            "username": USER,
            "file_url": "https://files.example/downloads/report.pdf?token=xyz&x=1",
            "file_name": "report.pdf",
            "message": "File ready for download",
            "data": {},
        },
    ]
    assert [ctx.pub.offset for ctx in got] == [full["offset"], minimal["offset"]]
    await personal_marker(fx, USER, "after send_file", events)


@via_param
async def test_send_file_to_absent_and_empty_user(fx, via):
    """delivered false for a user with no connection; ERR for an empty user name."""
    _, events, _ = await connected(fx)
    url = "https://files.example/a.txt"
    answer = await fx.messaging(via, "send_file", user=ABSENT_USER, file_url=url)
    assert answer["delivered"] is False, answer
    await fx.messaging_error(via, "send_file", user="", file_url=url)
    await personal_marker(fx, USER, "after absent/empty", events)


# ---------------------------------------------------------------------------
# broadcast_message


@via_param
async def test_broadcast_message(fx, via):
    """broadcast_message to u1 (two connections), u2 (one) and u3 (none): reached 2, and
    every connection of u1 and u2 gets one user.message for its own user."""
    _, first, _ = await connected(fx, USER)
    _, second, _ = await connected(fx, USER)
    _, other, _ = await connected(fx, OTHER_USER)

    since = now()
    answer = await fx.messaging(
        via, "broadcast_message", users=[USER, OTHER_USER, ABSENT_USER], message="maintenance at 5"
    )
    assert answer == {"reached": 2}

    for user, events in ((USER, first), (USER, second), (OTHER_USER, other)):
        ctx = await next_personal(events, user, "broadcast user.message")
        assert without_timestamp(ctx.pub.data, since) == {
            "type": "user.message",
            "username": user,
            "message": "maintenance at 5",
            "data": {},
        }
    await personal_marker(fx, USER, "after broadcast", first, second)
    await personal_marker(fx, OTHER_USER, "after broadcast", other)

    assert await fx.messaging(via, "broadcast_message", users=[ABSENT_USER], message="x") == {
        "reached": 0
    }
    assert await fx.messaging(via, "broadcast_message", users=[], message="x") == {"reached": 0}
    await personal_marker(fx, USER, "after empty broadcasts", first, second)


# ---------------------------------------------------------------------------
# the task notifier


TASK_CHANNELS = ["news:task-1", f"chat:#{USER}"]


def update(message: str, progress: int) -> Dict[str, Any]:
    return {"update": {"message": message, "progress": progress}}


async def marker(fx: MessagingFixture, sub_events: SubEvents, channel: str, tag: str) -> int:
    """Publish a marker into `channel`, assert it is the next publication the subscription
    sees; returns its offset."""
    data = {"marker": tag}
    offset = (await fx.publish(channel, data))["offset"]
    ctx = await within(sub_events.publications.get(), f"marker {tag} on {channel}")
    assert (ctx.pub.data, ctx.pub.offset) == (data, offset)
    return offset


@via_param
@pytest.mark.parametrize("channel", TASK_CHANNELS)
async def test_task_progress_then_complete(fx, via, channel):
    """update 0, 30, 60, 100 then complete: four task_update then one task_complete, in
    order, exactly; they take consecutive offsets of the channel's stream."""
    client, _, _ = await connected(fx)
    _, sub_events, _ = await subscribed(client, channel)
    start = await marker(fx, sub_events, channel, "before task")

    progress = [0, 30, 60, 100]
    steps: List[Dict[str, Any]] = [update(f"step {p}%", p) for p in progress]
    result = {"rows": 1250, "url": "https://files.example/out.csv", "warnings": []}
    steps.append({"complete": {"message": "Export finished", "result": result}})
    assert await fx.messaging(via, "task", task_id="task-1", channel=channel, steps=steps) == {}

    got = [await within(sub_events.publications.get(), f"task event on {channel}") for _ in steps]
    assert [ctx.pub.data for ctx in got] == [
        {
            "type": "task_update",
            "task_id": "task-1",
            "status": "processing",
            "message": f"step {p}%",
            "progress": p,
            "data": {},
        }
        for p in progress
    ] + [
        {
            "type": "task_complete",
            "task_id": "task-1",
            "status": "completed",
            "message": "Export finished",
            "result": result,
        }
    ]
    assert [ctx.pub.offset for ctx in got] == [start + i for i in range(1, len(steps) + 1)]
    await marker(fx, sub_events, channel, "after task")


@via_param
@pytest.mark.parametrize("channel", TASK_CHANNELS)
async def test_task_error(fx, via, channel):
    """A task that fails: its update, then task_error with the error and the message."""
    client, _, _ = await connected(fx)
    _, sub_events, _ = await subscribed(client, channel)
    start = await marker(fx, sub_events, channel, "before task")

    steps = [
        update("starting", 10),
        {"error": {"error": "disk full", "message": "The export could not be written"}},
    ]
    assert await fx.messaging(via, "task", task_id="task-2", channel=channel, steps=steps) == {}

    got = [await within(sub_events.publications.get(), f"task event on {channel}") for _ in steps]
    assert [ctx.pub.data for ctx in got] == [
        {
            "type": "task_update",
            "task_id": "task-2",
            "status": "processing",
            "message": "starting",
            "progress": 10,
            "data": {},
        },
        {
            "type": "task_error",
            "task_id": "task-2",
            "error": "disk full",
            "message": "The export could not be written",
        },
    ]
    assert [ctx.pub.offset for ctx in got] == [start + 1, start + 2]
    await marker(fx, sub_events, channel, "after task")


@via_param
@pytest.mark.parametrize("channel", TASK_CHANNELS)
async def test_task_progress_over_100_is_refused(fx, via, channel):
    """progress 101: ERR, and nothing is published (the next publication the subscriber
    sees is a marker at the next offset)."""
    client, _, _ = await connected(fx)
    _, sub_events, _ = await subscribed(client, channel)
    start = await marker(fx, sub_events, channel, "before task")

    line = await fx.messaging_error(
        via, "task", task_id="task-3", channel=channel, steps=[update("too far", 101)]
    )
    assert "progress" in line, line

    assert await marker(fx, sub_events, channel, "after refused update") == start + 1
    assert sub_events.publications.empty()
