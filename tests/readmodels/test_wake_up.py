"""Commits wake the worker through Redis; while a run is queued, more commits add no runs."""

import time

from catalog import commands
from readmodels import tasks
from readmodels.models import CategorySummary
from tests.conftest import wait_until


def category_named(name):
    return CategorySummary.objects.filter(name=name).exists()


def test_a_commit_queues_no_run_while_one_is_queued_and_the_next_run_takes_its_event(worker, staff):
    tasks._redis().set(tasks.RUN_QUEUED, 1, ex=60)  # as if a run were queued and not started
    commands.create_category(actor=staff, name="Waiting")
    time.sleep(1)  # long enough for a queued run to have projected it
    assert not category_named("Waiting")

    tasks.run_projections.delay()  # the queued run, starting at last
    wait_until(lambda: category_named("Waiting"))
    assert not tasks.run_queued()

    commands.create_category(actor=staff, name="Woken")  # no run queued: this commit queues one
    wait_until(lambda: category_named("Woken"))
