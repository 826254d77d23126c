"""The tests of scaling out: a real streaming replica (tests/replica_fixtures.py) and real
worker processes."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def _replica_alias(streaming_replica):
    """The replica's alias exists before any test here is set up (see streaming_replica)."""
    return streaming_replica
