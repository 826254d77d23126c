"""The layering the import contract (pyproject.toml, `lint-imports` in `make lint`) states, and
what it cannot see."""

from core import eventlog
from readmodels.models import DomainEvent


def test_the_kernel_appends_to_the_table_the_read_side_migrates():
    # core names the log's table without importing the read side's model.
    assert DomainEvent._meta.db_table == eventlog.EVENT_TABLE
