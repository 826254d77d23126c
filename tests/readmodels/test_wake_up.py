"""Commits wake the worker through Redis, from a thread of the process's own that the commits of
a moment share; while a run is queued or draining, more commits add no runs, and the draining
run takes their events."""

import threading
import time

import pytest

from catalog import commands
from config import celery_app
from readmodels import engine, tasks
from readmodels.models import CategorySummary
from readmodels.projections import PROJECTIONS
from tests.conftest import wait_until
from tests.helpers import held_open, in_thread


def category_named(name):
    return CategorySummary.objects.filter(name=name).exists()


def queued_tasks() -> int:
    with celery_app.connection_for_write() as conn:
        return conn.default_channel.client.llen(celery_app.conf.task_default_queue)


def test_a_commit_queues_no_run_while_one_is_queued_and_the_next_run_takes_its_event(worker, staff):
    tasks._redis().set(tasks.RUN_QUEUED, 1, ex=60)  # as if a run were queued and not started
    commands.create_category(actor=staff, name="Waiting")
    time.sleep(1)  # long enough for a queued run to have projected it
    assert not category_named("Waiting")

    tasks.run_projections.delay()  # the queued run, starting at last
    wait_until(lambda: category_named("Waiting"))
    wait_until(lambda: not tasks.run_queued())  # cleared once the run has drained

    commands.create_category(actor=staff, name="Woken")  # no run queued: this commit queues one
    wait_until(lambda: category_named("Woken"))


def test_a_commit_during_a_run_shares_that_run_and_needs_no_sweep(worker, staff, monkeypatch):
    """The run in progress holds its transaction (and so the horizon) when the commit lands;
    the commit queues nothing, and the run's next pass takes its event. No beat runs here."""
    projection = PROJECTIONS["category_summary"]
    real_apply = type(projection).apply_statements
    in_run, release = threading.Event(), threading.Event()

    def paused(self, events):
        rows = real_apply(self, events)
        if self is projection and not in_run.is_set():
            in_run.set()
            release.wait(10)
        return rows

    monkeypatch.setattr(type(projection), "apply_statements", paused)
    commands.create_category(actor=staff, name="First")  # wakes the worker, whose run pauses
    assert in_run.wait(10)
    commands.create_category(actor=staff, name="During")
    assert tasks.run_queued() and queued_tasks() == 0  # the draining run is its run
    release.set()
    wait_until(lambda: category_named("During"))


def test_a_run_cut_off_by_the_database_is_retried_and_blames_no_event(worker, staff, monkeypatch):
    from django.db import connection

    from readmodels.models import DeadLetter

    projection = PROJECTIONS["category_summary"]
    real_apply = type(projection).apply_statements
    killed = threading.Event()

    def apply_once_cut_off(self, events):
        if self is projection and not killed.is_set():
            killed.set()  # the server ends this worker's connection, as a restart would
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return real_apply(self, events)

    monkeypatch.setattr(type(projection), "apply_statements", apply_once_cut_off)
    commands.create_category(actor=staff, name="Retried")
    wait_until(lambda: category_named("Retried"))
    assert killed.is_set()
    assert not DeadLetter.objects.exists()


def test_with_redis_stopped_commands_succeed_and_projections_resume_when_it_is_back(
    worker, staff, own_redis, monkeypatch, caplog
):
    """The queued-run flag lives in Redis. With Redis down, a commit cannot wake the worker:
    the command still succeeds (the wake-up fails open, logged once), and the read side catches
    up by itself once Redis is back (here the next commit's wake-up; the beat sweep otherwise)."""
    import logging

    import redis

    from readmodels.models import DomainEvent

    monkeypatch.setattr(tasks, "_redis", lambda: redis.Redis.from_url(own_redis.url))
    monkeypatch.setattr(tasks._fail_open, "down", False)
    caplog.set_level(logging.WARNING, logger="readmodels.tasks")
    own_redis.stop()
    for name in ("Outage A", "Outage B"):
        commands.create_category(actor=staff, name=name)
    assert DomainEvent.objects.filter(event_type="CategoryCreated").count() == 2
    tasks.waker.flush()  # the wake-ups the commits left due, tried against the stopped Redis
    outage = [r for r in caplog.records if "Redis unreachable" in r.getMessage()]
    assert len(outage) == 1  # logged once, not per commit

    own_redis.start()
    commands.create_category(actor=staff, name="After")
    wait_until(lambda: all(category_named(n) for n in ("Outage A", "Outage B", "After")))
    assert any("Redis reachable again" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db(transaction=True)
def test_the_sweep_stands_aside_while_a_run_is_queued_and_catches_up_otherwise(staff):
    """Two runners would take the checkpoints from each other pass after pass; the sweep is
    for the events no run will take."""
    tasks._redis().set(tasks.RUN_QUEUED, 1, ex=60)  # a run queued or draining
    try:
        commands.create_category(actor=staff, name="Swept")  # queues nothing: one is queued
        assert tasks.sweep_projections() == {}
        assert not category_named("Swept")
    finally:
        tasks._redis().delete(tasks.RUN_QUEUED)
    assert tasks.sweep_projections()["category_summary"] == 1
    assert category_named("Swept")


@pytest.mark.django_db(transaction=True)
def test_a_drain_waits_for_events_held_behind_a_transaction_still_open(staff, monkeypatch):
    """A pass finds nothing while an older transaction is open; ending the drain then would
    leave the committed events behind it to a run that must first be queued."""
    # A drain that ended would have made two passes: one that found nothing, and the last look.
    passes, third_pass, real_run_all = [], threading.Event(), engine.run_all

    def counted_run_all(*args, **kwargs):
        passes.append(1)
        if len(passes) == 3:
            third_pass.set()
        return real_run_all(*args, **kwargs)

    drained = []
    with held_open(lambda: commands.create_category(actor=staff, name="Slow")):
        commands.create_category(actor=staff, name="Quick")  # committed, but behind Slow's xid
        monkeypatch.setattr(engine, "run_all", counted_run_all)
        drain = in_thread(lambda: drained.append(tasks.run_projections()))
        wait_until(lambda: third_pass.is_set() or not drain.is_alive())
    drain.join()
    assert drained[0]["category_summary"] == 2


def test_the_commits_of_a_moment_share_one_wake_up():
    woken = []
    waker = tasks.Waker(lambda: woken.append(1), delay=0.2)
    for _ in range(5):
        waker.note()
    wait_until(lambda: woken == [1])
    waker.flush()  # nothing is due: the five notes had one wake-up
    assert woken == [1]
    waker.note()
    wait_until(lambda: woken == [1, 1])


def test_a_commit_during_a_wake_up_gets_a_wake_up_of_its_own():
    """The wake-up in progress may have asked Redis before the commit: it cannot cover it."""
    woken, in_wake, release = [], threading.Event(), threading.Event()

    def wake():
        in_wake.set()
        release.wait(10)
        woken.append(1)

    waker = tasks.Waker(wake, delay=0)
    waker.note()
    assert in_wake.wait(10)
    waker.note()  # while the first wake-up runs
    release.set()
    wait_until(lambda: len(woken) == 2)
