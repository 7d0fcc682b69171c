"""pytest fixtures for tests/meta: ``metafor_fixture("core_pool")`` loads a metafor JSON fixture.

Test modules that need the data at collection time (parametrisation) import the helpers
directly: ``from metafor_fixtures import load_fixture, as_array, assert_close``.
"""

from __future__ import annotations

import pytest
from metafor_fixtures import load_fixture


@pytest.fixture(scope="session")
def metafor_fixture():
    """Loader: ``metafor_fixture(name)`` -> parsed ``tests/fixtures/metafor/<name>.json``."""
    return load_fixture
