"""pytest fixtures shared by the Python suites; the helpers themselves are in sdk_helpers.py."""

import pytest
import pytest_asyncio

# Plain `assert`s in the helpers report their operands like those in the tests do.
pytest.register_assert_rewrite("sdk_helpers")

from sdk_helpers import Fixture  # noqa: E402 (after register_assert_rewrite)


@pytest.fixture
def fixture_class() -> type:
    """The Fixture class `fx` starts; a test module overrides this fixture with a subclass
    that adds its own commands."""
    return Fixture


@pytest.fixture
def encoding() -> str:
    """The protocol encoding of the SDK clients `fx` makes; a test module that runs in both
    overrides this fixture with `params=["json", "protobuf"]`."""
    return "json"


@pytest_asyncio.fixture
async def fx(fixture_class, encoding):
    """A fresh sdk-fixture process for one test, stopped afterwards (its clients first)."""
    fixture = await fixture_class.start()
    fixture.encoding = encoding
    try:
        yield fixture
    finally:
        await fixture.stop()
