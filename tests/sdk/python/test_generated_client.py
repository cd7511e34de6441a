"""The generated Python client of the fixture server (fixture-clients writes it to
target/clients/fixture/python; run.sh copies it to target/clients/py/fixture_client and
installs its requirements, as its README says): typed calls, typed errors, the
type-fixture round trip and typed task and personal subscriptions, each with the JSON
encoding and with `protobuf=True`."""

import sys
from pathlib import Path
from uuid import UUID

import pytest

from sdk_helpers import REPO, USER, within

sys.path.insert(0, str(Path(REPO) / "target" / "clients" / "py"))

from fixture_client import (  # noqa: E402 (after the path is set)
    APIClient,
    CentrifugoRPCClient,
    ChatMessage,
    ConnectError,
    Everything,
    EventMoved,
    MoveJump,
    PersonalMessageUserNotification,
    ShapeCircle,
    ShapeLine,
    RPCError,
    StoryEventEdited,
    StoryEventRetracted,
    TaskEventTaskComplete,
    TaskEventTaskUpdate,
)


@pytest.fixture(params=["json", "protobuf"])
def encoding(request) -> str:
    """Every test here runs with the generated client in each encoding."""
    return request.param


def client(fx, token: str, user: str = USER) -> CentrifugoRPCClient:
    """The generated client, speaking the test's encoding."""
    return CentrifugoRPCClient(fx.url, token, user, protobuf=fx.encoding == "protobuf")


async def connected_api(fx, user: str = USER) -> tuple[APIClient, CentrifugoRPCClient]:
    rpc = client(fx, await fx.token(user), user)
    api = APIClient(rpc)
    await within(rpc.connect(), "generated client connect")
    return api, rpc


async def test_call_returns_the_typed_result(fx):
    api, rpc = await connected_api(fx)
    try:
        me = await within(api.test_whoami(), "test.whoami")
        assert me.user == USER
        assert me.client
        assert await within(api.test_sleep(5), "test.sleep") == 5
    finally:
        await rpc.disconnect()


async def test_error_reply_raises_rpc_error_with_code_and_message(fx):
    api, rpc = await connected_api(fx)
    try:
        with pytest.raises(RPCError) as raised:
            await within(api.test_fail(), "test.fail")
        assert (raised.value.code, raised.value.message) == (1001, "custom app error")
        with pytest.raises(RPCError) as raised:
            await within(api.types_check(Everything.model_construct()), "types.check")
        assert raised.value.code == 107  # the server could not parse an empty value
    finally:
        await rpc.disconnect()


async def test_bad_token_raises_connect_error(fx):
    rpc = client(fx, await fx.token(USER, bad_signature=True))
    with pytest.raises(ConnectError) as raised:
        await within(rpc.connect(), "refused connect")
    assert raised.value.code == 3500


async def test_type_fixture_round_trips_through_the_generated_models(fx):
    """Rust serialises the sample; the models parse it, serialise it again, and Rust
    parses that back to an equal value (types.check compares)."""
    api, rpc = await connected_api(fx)
    try:
        sample = await within(api.types_sample(), "types.sample")
        assert isinstance(sample, Everything)
        assert isinstance(sample.events[0], EventMoved)
        assert (sample.events[0].x, sample.events[0].y) == (1, -2)
        assert sample.class_ == "first"
        assert sample.when.year == 2026 and sample.when.microsecond == 123000
        assert sample.pair == (3, "three")
        assert sample.revision == 42  # flattened from Meta
        # Externally tagged: one-key objects and plain strings.
        assert isinstance(sample.shapes[0], ShapeCircle) and sample.shapes[0].circle.radius == 1.5
        assert isinstance(sample.shapes[3], ShapeLine) and sample.shapes[3].line == (-1, 2)
        assert sample.shapes[4:] == ["empty", "unknown"]
        # Adjacently tagged: tag and content side by side.
        assert isinstance(sample.moves[0], MoveJump) and sample.moves[0].args.height == 3
        assert await within(api.types_check(sample), "types.check") is True
    finally:
        await rpc.disconnect()


async def test_typed_task_subscription(fx):
    api, rpc = await connected_api(fx)
    try:
        channel = "news:task-7"
        events = await within(api.subscribe_task(channel), "subscribe_task")
        steps = [{"update": {"message": f"step {p}", "progress": p}} for p in (50, 100)]
        steps.append({"complete": {"message": "done", "result": {"rows": 3}}})
        await fx.cmd(cmd="messaging", via="server", action="task", task_id="t7", channel=channel, steps=steps)
        first = await within(events.next(), "task_update 50")
        second = await within(events.next(), "task_update 100")
        done = await within(events.next(), "task_complete")
        assert isinstance(first, TaskEventTaskUpdate) and first.progress == 50
        assert isinstance(second, TaskEventTaskUpdate) and second.progress == 100
        assert isinstance(done, TaskEventTaskComplete) and done.result == {"rows": 3}
    finally:
        await rpc.disconnect()


async def test_typed_personal_messages(fx):
    rpc = client(fx, await fx.token(USER))
    api = APIClient(rpc)
    personal = api.personal_messages()
    await within(rpc.connect(), "connect")
    try:
        await fx.cmd(
            cmd="messaging", via="server", action="send_notification", user=USER,
            message="saved", kind="success", title="Report",
        )
        note = await within(personal.next(), "user.notification")
        assert isinstance(note, PersonalMessageUserNotification)
        assert (note.notification_type, note.title, note.message) == ("success", "Report", "saved")
        assert await within(api.test_notify_me("hi"), "test.notify_me") is True
        mine = await within(personal.next(), "notification from a handler")
        assert isinstance(mine, PersonalMessageUserNotification) and mine.message == "hi"
    finally:
        await rpc.disconnect()


async def test_typed_channel_families(fx):
    """A typed publish from Rust (in process and through the HTTP API) reaches the
    typed subscriptions; the subscription publishes typed values, and a wrong shape
    is refused with 107 naming the field."""
    api, rpc = await connected_api(fx)
    try:
        story_id = UUID("0b5e0c1e-3c4f-4a8e-9d7a-5f1f2b3c4d5e")
        stories = await within(api.subscribe_news_story(story_id=story_id), "subscribe_news_story")
        assert stories.channel == f"news:story:{story_id}"
        sent = await fx.cmd(
            cmd="typed", via="server", family="news_story", story_id=str(story_id),
            payload={"kind": "edited", "title": "New title", "revision": 2},
        )
        assert sent == stories.channel
        await fx.cmd(
            cmd="typed", via="http", family="news_story", story_id=str(story_id),
            payload={"kind": "retracted", "reason": "duplicate"},
        )
        edited = await within(stories.next(), "story edited")
        assert isinstance(edited, StoryEventEdited) and (edited.title, edited.revision) == ("New title", 2)
        retracted = await within(stories.next(), "story retracted")
        assert isinstance(retracted, StoryEventRetracted) and retracted.reason == "duplicate"

        room = await within(api.subscribe_chat_room(room_id=42), "subscribe_chat_room")
        assert room.channel == "chat:room:42"
        await within(room.publish(ChatMessage(author=USER, text="hello")), "typed publish")
        mine = await within(room.next(), "own publication")
        assert mine == ChatMessage(author=USER, text="hello")
        wrong = ChatMessage.model_construct(author=USER)  # no `text`: not a ChatMessage
        with pytest.raises(RPCError) as refused:
            await within(room.publish(wrong), "refused publish")
        assert refused.value.code == 107
        assert "text" in refused.value.message and "chat_room" in refused.value.message

        inbox = await within(api.subscribe_chat_inbox(inbox=-1, user=USER), "subscribe_chat_inbox")
        assert inbox.channel == f"chat:inbox:-1#{USER}"
        await fx.cmd(
            cmd="typed", via="server", family="chat_inbox", inbox=-1, user=USER,
            payload={"author": "bot", "text": "archived"},
        )
        assert await within(inbox.next(), "inbox message") == ChatMessage(author="bot", text="archived")
        # Another user's inbox is not this user's to read.
        with pytest.raises(RPCError) as denied:
            await within(api.subscribe_chat_inbox(inbox=1, user="someone-else"), "other inbox")
        assert denied.value.code == 103
    finally:
        await rpc.disconnect()
