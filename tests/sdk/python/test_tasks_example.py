"""The tasks example (examples/tasks) through its generated Python client
(examples/tasks/clients/generated/python, installed by clients.sh as
target/clients/py/tasks_client): a real `tasks serve` process, typed calls, typed
errors with the documented codes, and a typed task-progress subscription that
follows `tasks.run` to completion."""

import asyncio
import os
import re
import sys
from pathlib import Path
from typing import AsyncIterator

import pytest
import pytest_asyncio

from sdk_helpers import REPO, within

sys.path.insert(0, str(Path(REPO) / "target" / "clients" / "py"))

from tasks_client import (  # noqa: E402 (after the path is set)
    APIClient,
    CentrifugoRPCClient,
    CreateTaskParams,
    PersonalMessageUserNotification,
    RPCError,
    RunTaskParams,
    SendNotificationParams,
    TaskEventTaskComplete,
    TaskEventTaskError,
    TaskEventTaskUpdate,
    TaskRef,
    TaskStatsParams,
)

TASKS = os.environ.get("WIRECALL_TASKS", str(Path(REPO) / "target" / "debug" / "tasks"))
SECRET = "tasks-test-secret"


class TasksServer:
    def __init__(self, proc: asyncio.subprocess.Process, url: str):
        self.proc = proc
        self.url = url

    async def token(self, user: str) -> str:
        minted = await asyncio.create_subprocess_exec(
            TASKS, "token", "--user", user, "--secret", SECRET, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await within(minted.communicate(), "tasks token")
        assert minted.returncode == 0
        return out.decode().strip()

    async def api(self, user: str) -> APIClient:
        rpc = CentrifugoRPCClient(self.url, await self.token(user), user)
        api = APIClient(rpc)
        await within(rpc.connect(), f"connect as {user}")
        return api


@pytest_asyncio.fixture
async def server() -> AsyncIterator[TasksServer]:
    proc = await asyncio.create_subprocess_exec(
        TASKS, "serve", "--bind", "127.0.0.1:0", "--secret", SECRET, "--log", "warn",
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    url = None
    while url is None:
        line = (await within(proc.stdout.readline(), "tasks serve banner")).decode()
        assert line, "tasks serve exited before listening"
        found = re.search(r"(ws://\S+)", line)
        url = found.group(1) if found else None
    try:
        yield TasksServer(proc, url)
    finally:
        proc.terminate()
        await proc.wait()


async def test_create_get_and_stats(server):
    api = await server.api("alice")
    try:
        task = await within(api.tasks_create(CreateTaskParams(title="Export", steps=3)), "create")
        assert (task.title, task.owner, task.status, task.progress) == ("Export", "alice", "pending", 0)
        assert (await api.tasks_get(TaskRef(task_id=task.id))) == task
        stats = await api.tasks_get_stats(TaskStatsParams(user_id="alice"))
        assert (stats.total, stats.completed) == (1, 0)
    finally:
        await api.rpc.disconnect()


async def test_typed_errors_carry_the_documented_codes(server):
    alice = await server.api("alice")
    bob = await server.api("bob")
    try:
        task = await alice.tasks_create(CreateTaskParams(title="Private"))
        with pytest.raises(RPCError) as raised:
            await bob.tasks_get(TaskRef(task_id=task.id))
        assert (raised.value.code, raised.value.message) == (404, "task not found")
        with pytest.raises(RPCError) as raised:
            await alice.tasks_create(CreateTaskParams(title="  "))
        assert (raised.value.code, raised.value.message) == (107, "title: must not be empty")
        with pytest.raises(RPCError) as raised:
            await alice.tasks_get_stats(TaskStatsParams(user_id="bob"))
        assert raised.value.code == 103
    finally:
        await alice.rpc.disconnect()
        await bob.rpc.disconnect()


async def test_run_publishes_typed_progress_then_completion(server):
    api = await server.api("alice")
    personal = api.personal_messages()
    try:
        task = await api.tasks_create(CreateTaskParams(title="Report", steps=4))
        assert task.channel == f"tasks:{task.id}#alice"
        events = await within(api.subscribe_task(task.channel), "subscribe to the task channel")
        run = await api.tasks_run(RunTaskParams(task_id=task.id, step_ms=1))
        assert run.channel == task.channel
        progress = []
        while True:
            event = await within(events.next(), "task event")
            if isinstance(event, TaskEventTaskComplete):
                break
            assert isinstance(event, TaskEventTaskUpdate)
            progress.append(event.progress)
        assert progress == [25, 50, 75, 100]
        note = await within(personal.next(), "completion notification")
        assert isinstance(note, PersonalMessageUserNotification)
        assert note.notification_type == "success"
        done = await api.tasks_get(TaskRef(task_id=task.id))
        assert (done.status, done.progress) == ("completed", 100)
        with pytest.raises(RPCError) as raised:
            await api.tasks_run(RunTaskParams(task_id=task.id, step_ms=10_000))
            await api.tasks_run(RunTaskParams(task_id=task.id))
        assert raised.value.code == 409
    finally:
        await api.rpc.disconnect()


async def test_a_failing_run_ends_with_task_error(server):
    api = await server.api("alice")
    try:
        task = await api.tasks_create(CreateTaskParams(title="Doomed", steps=4))
        events = await within(api.subscribe_task(task.channel), "subscribe to the task channel")
        await api.tasks_run(RunTaskParams(task_id=task.id, step_ms=1, fail_at=50))
        first = await within(events.next(), "first update")
        assert isinstance(first, TaskEventTaskUpdate) and first.progress == 25
        failed = await within(events.next(), "task_error")
        assert isinstance(failed, TaskEventTaskError)
        assert failed.task_id == str(task.id)
        failed_task = await api.tasks_get(TaskRef(task_id=task.id))
        assert (failed_task.status, failed_task.progress) == ("failed", 50)
    finally:
        await api.rpc.disconnect()


async def test_notifications_reach_another_user(server):
    alice = await server.api("alice")
    bob_rpc = CentrifugoRPCClient(server.url, await server.token("bob"), "bob")
    bob = APIClient(bob_rpc)
    inbox = bob.personal_messages()
    await within(bob_rpc.connect(), "bob connects")
    try:
        sent = await alice.notifications_send(
            SendNotificationParams(to_user="bob", message="Lunch?", notification_type="warning")
        )
        assert sent.delivered is True
        note = await within(inbox.next(), "bob's notification")
        assert isinstance(note, PersonalMessageUserNotification)
        assert (note.message, note.notification_type) == ("Lunch?", "warning")
        me = await bob.users_whoami()
        assert (me.user_id, me.connections) == ("bob", 1)
    finally:
        await alice.rpc.disconnect()
        await bob_rpc.disconnect()
