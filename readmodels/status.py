"""How far behind each projection is, and which transaction holds them back (for the admin, the
API, the health endpoints, /metrics and `manage.py projection_status`)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from django.conf import settings
from django.db import connection

from core.eventlog import Position
from readmodels import checkpoints
from readmodels.log import HORIZON_CTE
from readmodels.models import DeadLetter, DomainEvent, ProjectionCheckpoint
from readmodels.projections import get_projections


@dataclasses.dataclass
class ProjectionStatus:
    name: str
    position: str
    events_behind: int
    seconds_behind: float  # how long the oldest event it has not applied has been waiting
    dead_letters: int
    last_run_at: datetime | None
    updated_at: datetime | None

    @property
    def lagging(self) -> bool:
        return self.seconds_behind > settings.PROJECTION_LAG_WARNING_SECONDS


@dataclasses.dataclass
class HorizonHolder:
    """An open transaction older than some committed events: projections wait for it."""

    pid: int
    seconds: float
    state: str
    query: str


def projection_status() -> tuple[list[ProjectionStatus], list[HorizonHolder]]:
    projections = get_projections()
    checkpoints.ensure(p.name for p in projections)
    table = DomainEvent._meta.db_table
    statuses = []
    for checkpoint in ProjectionCheckpoint.objects.filter(name__in=[p.name for p in projections]):
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT COUNT(*), EXTRACT(EPOCH FROM now() - MIN(occurred_at))
                FROM {table} WHERE (txid, id) > (%s::xid8, %s)
                """,
                [str(checkpoint.txid), checkpoint.event_id],
            )
            behind, seconds = cursor.fetchone()
        statuses.append(
            ProjectionStatus(
                name=checkpoint.name,
                position=str(Position(checkpoint.txid, checkpoint.event_id)),
                events_behind=behind,
                seconds_behind=max(0.0, float(seconds or 0)),
                dead_letters=DeadLetter.objects.filter(
                    projection=checkpoint.name, status=DeadLetter.Status.DEAD
                ).count(),
                last_run_at=checkpoint.last_run_at,
                updated_at=checkpoint.updated_at,
            )
        )
    return sorted(statuses, key=lambda s: s.name), horizon_holders()


def horizon_holders() -> list[HorizonHolder]:
    """Backends whose open transaction holds the horizon while committed events wait above it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH {HORIZON_CTE}
            SELECT a.pid, EXTRACT(EPOCH FROM now() - a.xact_start), a.state, LEFT(a.query, 300)
            FROM pg_stat_activity a, horizon
            WHERE a.backend_xid IS NOT NULL
              AND a.backend_xid::text::bigint = horizon.xmin::text::bigint %% 4294967296
              AND EXISTS (SELECT 1 FROM {DomainEvent._meta.db_table} e WHERE e.txid >= horizon.xmin)
            """,
            [],
        )
        return [
            HorizonHolder(pid, float(age or 0), state, query)
            for pid, age, state, query in cursor.fetchall()
        ]
