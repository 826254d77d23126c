"""Page tests run the real path: commands commit, the real worker projects, pages read."""

import pytest
from django.test import Client

from core.eventlog import position_of
from readmodels.consistency import wait_for
from readmodels.models import DomainEvent


@pytest.fixture(autouse=True)
def _projecting(worker):
    """Every page test has the worker, so summaries follow the commands as in production."""


def caught_up():
    """Wait until every projection has applied the newest event."""
    last = DomainEvent.objects.order_by("-txid", "-id").first()
    if last is not None:
        assert wait_for(position_of(last), timeout=15), "projections did not catch up"


@pytest.fixture
def client_for():
    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make
