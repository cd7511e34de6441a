"""Publishing from a Python backend (views, Celery tasks, management commands, the
shell): messages, notifications and files to users, task progress, over the server's
HTTP API with the official `cent` client. The payloads are the generated models, the
same the browser and the other clients read.

    >>> from your_client.publisher import Publisher
    >>> Publisher().send_message("amadmin", "Hello from the shell!")   # WIRECALL_API_URL / _KEY
    True

`Publisher` is synchronous (Django, Celery); `AsyncPublisher` has the same methods as
coroutines. Arguments are checked before anything is sent (`InvalidArgument`); a wrong
key raises `Unauthorized`, an unreachable server `Unreachable`, a refusal by the server
`Refused` (with its code). All are `PublishError`s.
"""

from __future__ import annotations

import os
import unicodedata
from datetime import datetime, timezone
from typing import Any, Callable, Sequence, TypeVar, cast
from uuid import UUID

import requests

from cent import AsyncClient, Client, PublishRequest
from cent.dto import CentRequest, CentResult
from cent.exceptions import (
    CentApiResponseError,
    CentError,
    CentNetworkError,
    CentTimeoutError,
    CentUnauthorizedError,
)
from pydantic import BaseModel, TypeAdapter

from .models import (
    NotificationKind,
    PersonalMessageUserFile,
    PersonalMessageUserMessage,
    PersonalMessageUserNotification,
    TaskEventTaskComplete,
    TaskEventTaskError,
    TaskEventTaskUpdate,
    TaskUpdateStatus,
)
# wirecall: the declared families' payload types and adapters.

PERSONAL_NAMESPACE = "personal"
"""The namespace of the users' personal channels (the server's, when the exporter knew it)."""

NOTIFICATION_TYPES = ("success", "error", "info", "warning")
"""The notification types the page knows how to show."""

TASK_UPDATE_STATUSES = ("processing", "queued")
"""What a `task_update` may say of its task."""


class PublishError(Exception):
    """Anything that kept a publication from being made."""


class InvalidArgument(PublishError, ValueError):
    """An argument the server would refuse; nothing was sent."""


class Unauthorized(PublishError):
    """The server refused the API key (HTTP 401)."""


class Unreachable(PublishError):
    """The server could not be reached (or did not answer in time)."""


class Refused(PublishError):
    """The server refused the request; `code` is the protocol's or the application's."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{message} (code {code})")
        self.code = code
        self.message = message


class _UserConnections(CentResult):
    connections: int = 0


class _UserConnectionsRequest(CentRequest[_UserConnections]):
    """wirecall's `user_connections`: live connections of a user, on every node."""

    __returning__ = _UserConnections
    __api_method__ = "user_connections"

    user: str


def _setting(value: str | None, names: tuple[str, str], what: str) -> str:
    for name in names:
        value = value or os.environ.get(name)
    if not value:
        raise PublishError(f"no {what}: pass it, or set {names[0]}")
    return value


def _user(user: str) -> str:
    if not user:
        raise InvalidArgument("user required")
    return user


def _kind(notification_type: str) -> NotificationKind:
    if notification_type not in NOTIFICATION_TYPES:
        raise InvalidArgument(
            f"notification_type must be one of {', '.join(NOTIFICATION_TYPES)}, "
            f"got {notification_type!r}"
        )
    return cast(NotificationKind, notification_type)


def _progress(progress: int) -> int:
    if type(progress) is not int or not 0 <= progress <= 100:
        raise InvalidArgument(f"progress must be a whole number within 0..=100, got {progress!r}")
    return progress


def _status(status: str) -> TaskUpdateStatus:
    if status not in TASK_UPDATE_STATUSES:
        raise InvalidArgument(
            f"status must be one of {', '.join(TASK_UPDATE_STATUSES)}, got {status!r}"
        )
    return cast(TaskUpdateStatus, status)


def _part(param: str, value: str, refused: str) -> str:
    """A string channel parameter, checked: a character that would change the channel name's
    anatomy (whitespace or one of `refused`) raises `InvalidArgument`."""
    if not value or any(
        c in refused or c.isspace() or unicodedata.category(c) == "Cc" for c in value
    ):
        raise InvalidArgument(
            f"channel parameter {param} must be non-empty, without whitespace or any of "
            f"{refused!r}, got {value!r}"
        )
    return value


def _integer(param: str, value: int, low: int, high: int) -> int:
    """An integer channel parameter, checked against its Rust type's range."""
    if type(value) is not int or not low <= value <= high:
        raise InvalidArgument(
            f"channel parameter {param} must be a whole number within {low}..={high}, "
            f"got {value!r}"
        )
    return value


def _uuid(param: str, value: UUID) -> UUID:
    """A UUID channel parameter (the f-string writes it in lower case, as the server does)."""
    if not isinstance(value, UUID):
        raise InvalidArgument(f"channel parameter {param} must be a UUID, got {value!r}")
    return value


def _dump(adapter: TypeAdapter[Any], value: Any) -> Any:
    # Unset optional fields are left out, as the generated clients publish them.
    try:
        return adapter.dump_python(value, mode="json", by_alias=True, exclude_none=True)
    except ValueError as error:  # pydantic's validation and serialisation errors
        raise InvalidArgument(f"payload: {error}") from None


def _file_name(url: str) -> str:
    path = url.split("?")[0].split("#")[0].rstrip("/")
    name = path.rsplit("/", 1)[-1]
    return name if name and ":" not in name else "download"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _json(build: Callable[[], BaseModel]) -> Any:
    """The JSON of the payload `build` makes; data that is not JSON is `InvalidArgument`."""
    try:
        return build().model_dump(mode="json", by_alias=True)
    except ValueError as error:  # pydantic's validation and serialisation errors
        raise InvalidArgument(str(error)) from None


T = TypeVar("T")


def _translated(call: Callable[[], T]) -> T:
    try:
        return call()
    except CentError as error:
        raise _error(error) from None
    except requests.RequestException as error:  # before cent's own handling (a bad URL)
        raise Unreachable(f"cannot reach the server: {error}") from None


def _error(error: CentError) -> PublishError:
    if isinstance(error, CentUnauthorizedError):
        return Unauthorized("the server refused the API key (HTTP 401)")
    if isinstance(error, (CentNetworkError, CentTimeoutError)):
        return Unreachable(f"cannot reach the server: {error}")
    if isinstance(error, CentApiResponseError):
        return Refused(error.code, error.message)
    return PublishError(str(error))


class _Payloads:
    """What each operation publishes, built once for both publishers."""

    def __init__(self, personal_namespace: str) -> None:
        self.personal_namespace = personal_namespace

    def personal(self, user: str) -> str:
        return f"{self.personal_namespace}:#{user}" if self.personal_namespace else f"#{user}"

    def message(self, user: str, message: str, data: Any) -> Any:
        return _json(lambda: PersonalMessageUserMessage(
            username=user, message=message, data={} if data is None else data, timestamp=_now()
        ))

    def notification(
        self, user: str, message: str, kind: NotificationKind, title: str, data: Any
    ) -> Any:
        return _json(lambda: PersonalMessageUserNotification(
            username=user, notification_type=kind, title=title, message=message,
            data={} if data is None else data, timestamp=_now(),
        ))

    def file(self, user: str, file_url: str, file_name: str | None, message: str,
             file_size: int | None, data: Any) -> Any:
        if not file_url:
            raise InvalidArgument("file_url required")
        payload = _json(lambda: PersonalMessageUserFile(
            username=user, file_url=file_url, file_name=file_name or _file_name(file_url),
            file_size=file_size, message=message, data={} if data is None else data,
            timestamp=_now(),
        ))
        if file_size is None:
            del payload["file_size"]  # absent when unknown, as every publisher writes it
        return payload

    @staticmethod
    def task_update(task_id: str, message: str, progress: int, data: Any, status: str) -> Any:
        kind, progress = _status(status), _progress(progress)
        return _json(lambda: TaskEventTaskUpdate(
            task_id=task_id, status=kind, message=message,
            progress=progress, data={} if data is None else data,
        ))

    @staticmethod
    def task_complete(task_id: str, message: str, result: Any) -> Any:
        return _json(lambda: TaskEventTaskComplete(
            task_id=task_id, status="completed", message=message,
            result={} if result is None else result,
        ))

    @staticmethod
    def task_error(task_id: str, error: str, message: str) -> Any:
        return _json(lambda: TaskEventTaskError(task_id=task_id, error=error, message=message))

    @staticmethod
    def users(users: Sequence[str]) -> list[str]:
        # All or nothing for bad input: every name is checked before anything is sent.
        if any(not user for user in users):
            raise InvalidArgument("user required (an empty user name was given)")
        return list(dict.fromkeys(users))


class Publisher:
    """Publishes over the HTTP API, synchronously.

    `api_url` (`http://host:8000/api`) and `api_key` default to `WIRECALL_API_URL` and
    `WIRECALL_API_KEY` (`WSRPC_API_URL` / `WSRPC_API_KEY` are read too).
    """

    def __init__(self, api_url: str | None = None, api_key: str | None = None, *,
                 personal_namespace: str = PERSONAL_NAMESPACE, timeout: float = 10.0) -> None:
        url = _setting(api_url, ("WIRECALL_API_URL", "WSRPC_API_URL"), "API URL")
        key = _setting(api_key, ("WIRECALL_API_KEY", "WSRPC_API_KEY"), "API key")
        self._client = Client(url.rstrip("/"), key, timeout=timeout)
        self._payloads = _Payloads(personal_namespace)

    def close(self) -> None:
        """Closes the HTTP session."""
        self._client.close()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def publish(self, channel: str, data: Any) -> int:
        """Publishes `data` (JSON-ready) into `channel`; its offset (0 without history)."""
        result = _translated(lambda: self._client.publish(PublishRequest(channel=channel, data=data)))
        return result.offset or 0

    def is_connected(self, user: str) -> bool:
        """Whether `user` has a live connection now."""
        request = _UserConnectionsRequest(user=_user(user))
        return _translated(lambda: self._client._send(request)).connections > 0

    def _personal(self, user: str, payload: Any) -> bool:
        delivered = self.is_connected(user)
        self.publish(self._payloads.personal(user), payload)
        return delivered

    def send_message(self, user: str, message: str, data: Any = None) -> bool:
        """`user.message` to `user`; whether they had a live connection."""
        return self._personal(_user(user), self._payloads.message(user, message, data))

    def send_notification(self, user: str, message: str, notification_type: str = "info",
                          title: str = "", data: Any = None) -> bool:
        """`user.notification` (success, error, info or warning) to `user`."""
        payload = self._payloads.notification(_user(user), message, _kind(notification_type), title, data)
        return self._personal(user, payload)

    def send_file(self, user: str, file_url: str, file_name: str | None = None,
                  message: str = "File ready for download", file_size: int | None = None,
                  data: Any = None) -> bool:
        """`user.file` to `user`: a file ready for download (the name from the URL by default)."""
        payload = self._payloads.file(_user(user), file_url, file_name, message, file_size, data)
        return self._personal(user, payload)

    def broadcast_message(self, message: str, users: Sequence[str], data: Any = None) -> int:
        """`user.message` to each of `users` (each once); how many had a live connection."""
        return sum(self.send_message(user, message, data) for user in _Payloads.users(users))

    def task(self, task_id: str, channel: str) -> TaskNotifier:
        """A notifier for one task's progress on `channel`."""
        return TaskNotifier(self, task_id, channel)
    # wirecall: one publish_<family> per declared channel family.


class TaskNotifier:
    """`task_update` per step, then `task_complete` or `task_error`, in order."""

    def __init__(self, publisher: Publisher, task_id: str, channel: str) -> None:
        self._publisher, self.task_id, self.channel = publisher, task_id, channel

    def update(self, message: str, progress: int, data: Any = None,
               status: str = "processing") -> int:
        """`task_update` with `progress` (0 to 100); `status` is `processing` or `queued`."""
        event = _Payloads.task_update(self.task_id, message, progress, data, status)
        return self._publisher.publish(self.channel, event)

    def complete(self, message: str, result: Any = None) -> int:
        event = _Payloads.task_complete(self.task_id, message, result)
        return self._publisher.publish(self.channel, event)

    def error(self, error: str, message: str) -> int:
        event = _Payloads.task_error(self.task_id, error, message)
        return self._publisher.publish(self.channel, event)


class AsyncPublisher:
    """`Publisher`'s methods as coroutines (`await publisher.send_message(...)`)."""

    def __init__(self, api_url: str | None = None, api_key: str | None = None, *,
                 personal_namespace: str = PERSONAL_NAMESPACE, timeout: float = 10.0) -> None:
        url = _setting(api_url, ("WIRECALL_API_URL", "WSRPC_API_URL"), "API URL")
        key = _setting(api_key, ("WIRECALL_API_KEY", "WSRPC_API_KEY"), "API key")
        self._client = AsyncClient(url.rstrip("/"), key, timeout=timeout)
        self._payloads = _Payloads(personal_namespace)

    async def close(self) -> None:
        """Closes the HTTP session."""
        await self._client.close()

    async def __aenter__(self) -> AsyncPublisher:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def publish(self, channel: str, data: Any) -> int:
        """Publishes `data` (JSON-ready) into `channel`; its offset (0 without history)."""
        try:
            result = await self._client.publish(PublishRequest(channel=channel, data=data))
        except CentError as error:
            raise _error(error) from None
        return result.offset or 0

    async def is_connected(self, user: str) -> bool:
        """Whether `user` has a live connection now."""
        request = _UserConnectionsRequest(user=_user(user))
        try:
            result = await self._client._send(request)
        except CentError as error:
            raise _error(error) from None
        return result.connections > 0

    async def _personal(self, user: str, payload: Any) -> bool:
        delivered = await self.is_connected(user)
        await self.publish(self._payloads.personal(user), payload)
        return delivered

    async def send_message(self, user: str, message: str, data: Any = None) -> bool:
        """`user.message` to `user`; whether they had a live connection."""
        return await self._personal(_user(user), self._payloads.message(user, message, data))

    async def send_notification(self, user: str, message: str, notification_type: str = "info",
                                title: str = "", data: Any = None) -> bool:
        """`user.notification` (success, error, info or warning) to `user`."""
        payload = self._payloads.notification(_user(user), message, _kind(notification_type), title, data)
        return await self._personal(user, payload)

    async def send_file(self, user: str, file_url: str, file_name: str | None = None,
                        message: str = "File ready for download", file_size: int | None = None,
                        data: Any = None) -> bool:
        """`user.file` to `user`: a file ready for download (the name from the URL by default)."""
        payload = self._payloads.file(_user(user), file_url, file_name, message, file_size, data)
        return await self._personal(user, payload)

    async def broadcast_message(self, message: str, users: Sequence[str], data: Any = None) -> int:
        """`user.message` to each of `users` (each once); how many had a live connection."""
        reached = 0
        for user in _Payloads.users(users):
            reached += await self.send_message(user, message, data)
        return reached

    def task(self, task_id: str, channel: str) -> AsyncTaskNotifier:
        """A notifier for one task's progress on `channel`."""
        return AsyncTaskNotifier(self, task_id, channel)
    # wirecall: one publish_<family> per declared channel family, as coroutines.


class AsyncTaskNotifier:
    """`TaskNotifier` as coroutines."""

    def __init__(self, publisher: AsyncPublisher, task_id: str, channel: str) -> None:
        self._publisher, self.task_id, self.channel = publisher, task_id, channel

    async def update(self, message: str, progress: int, data: Any = None,
                     status: str = "processing") -> int:
        """`task_update` with `progress` (0 to 100); `status` is `processing` or `queued`."""
        event = _Payloads.task_update(self.task_id, message, progress, data, status)
        return await self._publisher.publish(self.channel, event)

    async def complete(self, message: str, result: Any = None) -> int:
        event = _Payloads.task_complete(self.task_id, message, result)
        return await self._publisher.publish(self.channel, event)

    async def error(self, error: str, message: str) -> int:
        event = _Payloads.task_error(self.task_id, error, message)
        return await self._publisher.publish(self.channel, event)
