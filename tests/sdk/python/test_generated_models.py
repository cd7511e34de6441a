"""The Python models the exporter generates (rpc-core/tests/golden/models.py)
load under pydantic v2 and keep the wire shape: a value as the Rust server
serialises it validates, and dumps back to the same JSON (tagged enums
included)."""

import importlib.util
import json
from pathlib import Path

from sdk_helpers import REPO

GOLDEN = Path(REPO) / "rpc-core" / "tests" / "golden" / "models.py"


def load_models():
    spec = importlib.util.spec_from_file_location("generated_models", GOLDEN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# As serde_json writes a `Task` (field order aside).
TASK = {
    "counts": {"a": 1},
    "created_at": "2026-11-21T10:00:00Z",
    "event": {"type": "finished", "rows": 3},
    "extra": {"free": ["form", 1]},
    "id": 18446744073709551615,
    "limit": 10,
    "note": None,
    "pair": [1, "x"],
    "ratio": 0.5,
    "small": 2,
    "status": "done",
    "tags": ["a", "b"],
    "title": "t",
}


def test_a_task_round_trips_through_the_generated_models():
    models = load_models()
    task = models.Task.model_validate(TASK)
    assert type(task.event).__name__ == "EventFinished"
    assert task.event.rows == 3
    dumped = json.loads(task.model_dump_json(by_alias=True))
    dumped["created_at"] = dumped["created_at"].replace("+00:00", "Z")
    assert dumped == TASK


def test_the_discriminator_picks_the_variant():
    models = load_models()
    task = models.Task.model_validate({**TASK, "event": {"type": "progress", "percent": 40}})
    assert type(task.event).__name__ == "EventProgress"
    assert task.event.percent == 40
