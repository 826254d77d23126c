"""Read your writes: wait, bounded, until projections have applied a command's events."""

from __future__ import annotations

import time
from collections.abc import Iterable

from readmodels.eventlog import Position
from readmodels.models import ProjectionCheckpoint
from readmodels.projections import get_projections

POLL_SECONDS = 0.01


def has_passed(position: Position, projections: Iterable[str] | None = None) -> bool:
    names = [p.name for p in get_projections(projections)]
    reached = ProjectionCheckpoint.objects.filter(name__in=names).values_list("txid", "event_id")
    reached = list(reached)
    return len(reached) == len(names) and all(Position(*r) >= position for r in reached)


def wait_for(
    token: Position | str | None, projections: Iterable[str] | None = None, timeout: float = 2.0
) -> bool:
    """True once every named projection (all by default) has applied the event at `token`;
    False if `timeout` seconds pass first. A None token (a command that changed nothing) has
    nothing to wait for. Raises ValueError for a malformed token."""
    if token is None:
        return True
    position = token if isinstance(token, Position) else Position.parse(token)
    projections = list(projections or [])
    deadline = time.monotonic() + timeout
    while not has_passed(position, projections):
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True
