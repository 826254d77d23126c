"""Rebuild a summary table as a fold of the event log, and verify it against the log and the
normalized tables (`manage.py rebuild_projections [--verify]`)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

import pgtrigger
from django.db import connection, transaction

from core.eventlog import Position
from readmodels import checkpoints
from readmodels.engine import run_projection
from readmodels.log import as_maintenance, horizon_position
from readmodels.models import DeadLetter, DomainEvent, ProjectionCheckpoint
from readmodels.projections import Projection


def rebuild(projection: Projection, *, progress: Callable[[int, int], None] | None = None) -> int:
    """Rebuild the table as a fold of the event log, in one transaction.

    The fold sums every event's delta up to the horizon position, and that same position
    becomes the checkpoint: the events after it are applied as deltas afterwards, and none
    before it can be, so no event counts twice or never. Descriptive fields are copied from the
    current rows, which is idempotent. Readers keep seeing the old rows until the commit (MVCC),
    never an empty or half-built table. `progress(done, total)` is called when it is written."""
    with transaction.atomic():
        as_maintenance()
        checkpoint = checkpoints.lock(projection.name, wait=True)
        position = horizon_position()
        with pgtrigger.ignore(projection.trigger_uri):
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {projection.table}")
            rows = projection.fold(position)
        # Letters still being retried are now covered by the fold; dead ones stay for a replay.
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE {DeadLetter._meta.db_table} d SET status = %s, resolved_at = now()
                FROM {DomainEvent._meta.db_table} e
                WHERE e.id = d.event_id AND d.projection = %s AND d.status = %s
                  AND (e.txid, e.id) <= (%s::xid8, %s)
                """,
                [
                    DeadLetter.Status.RESOLVED,
                    projection.name,
                    DeadLetter.Status.RETRYING,
                    str(position.txid),
                    position.event_id,
                ],
            )
        checkpoint.generation += 1
        checkpoints.advance(checkpoint, position)
    if progress:
        progress(rows, rows)
    return rows


# The three sources --verify compares, and what it means when one of them stands alone.
SOURCES = ("live", "log", "tables")
CULPRITS = {
    "live": "the live rows disagree with the event log and the tables",
    "log": "the event log and the tables disagree (the log's fold is the odd one)",
    "tables": "the event log and the tables disagree (the tables' recompute is the odd one)",
}


@dataclasses.dataclass
class Drift:
    """A row on which the three sources do not agree. `values` maps each column that differs to
    its value in each source (None where a source has no such row, listed in `missing`)."""

    key: object
    culprit: str | None  # the one source that disagrees with the other two; None: all differ
    missing: tuple[str, ...]
    values: dict  # column -> {source: value}

    @property
    def problem(self) -> str:
        if self.culprit is None:
            return "all three sources disagree"
        return CULPRITS[self.culprit]

    def __str__(self) -> str:
        parts = [f"missing from {', '.join(self.missing)}"] if self.missing else []
        parts += [
            f"{column}: " + " ".join(f"{source}={value!r}" for source, value in by_source.items())
            for column, by_source in self.values.items()
        ]
        return f"{self.key}: {self.problem}; {'; '.join(parts)}"


def verify(projection: Projection, *, attempts: int = 5) -> list[Drift]:
    """Compare, row by row, the live table, a fold of the event log up to the live checkpoint,
    and a recompute from the normalized tables, all read in one snapshot.

    The tables can be ahead of the checkpoint when commands commit meanwhile; then the snapshot
    is not a fair comparison, so the projection catches up and the check starts again."""
    for _ in range(attempts):
        run_projection(projection)
        drift = _compare(projection)
        if drift is not None:
            return drift
    raise RuntimeError(f"{projection.name}: the log kept moving; verify at a quieter moment")


def _compare(projection: Projection) -> list[Drift] | None:
    keys = projection.keys
    compared = projection.compared_columns
    sources = {"live": projection.table, "log": "verify_log", "tables": "verify_tables"}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        as_maintenance()
        checkpoint = ProjectionCheckpoint.objects.get(name=projection.name)
        position = Position(checkpoint.txid, checkpoint.event_id)
        # Any event after the checkpoint in this snapshot (even one the horizon still holds
        # back) may already show in the tables: not a fair comparison yet.
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {DomainEvent._meta.db_table} "
            "WHERE (txid, id) > (%s::xid8, %s))",
            [str(position.txid), position.event_id],
        )
        if cursor.fetchone()[0]:
            return None
        for scratch in ("verify_log", "verify_tables"):
            cursor.execute(
                f"CREATE TEMP TABLE {scratch} (LIKE {projection.table} INCLUDING INDEXES) "
                "ON COMMIT DROP"
            )
        projection.fold(position, into="verify_log")
        projection.recompute(into="verify_tables")
        key_list = ", ".join(keys)
        rows = ", ".join(f"to_jsonb({alias})" for alias in sources)
        joined = " ".join(
            f"LEFT JOIN {table} {alias} ON " + " AND ".join(f"{alias}.{k} = keys.{k}" for k in keys)
            for alias, table in sources.items()
        )
        differs = " OR ".join(
            f"({', '.join(f'{a}.{c}' for c in compared)}) "
            f"IS DISTINCT FROM ({', '.join(f'{b}.{c}' for c in compared)})"
            for a, b in (("live", "log"), ("log", "tables"))
        )
        missing = " OR ".join(f"{alias}.{keys[0]} IS NULL" for alias in sources)
        cursor.execute(
            f"""
            WITH keys AS (
                SELECT {key_list} FROM {projection.table} UNION SELECT {key_list} FROM verify_log
                UNION SELECT {key_list} FROM verify_tables
            )
            SELECT {rows} FROM keys {joined}
            WHERE {missing} OR {differs}
            ORDER BY {", ".join(f"keys.{k}" for k in keys)}
            """
        )
        found = cursor.fetchall()
    return [_drift(keys, compared, row) for row in found]


def _drift(keys: tuple[str, ...], compared: list[str], row) -> Drift:
    # psycopg hands jsonb from a raw cursor back as text.
    by_source = {
        source: json.loads(value) if isinstance(value, str) else value
        for source, value in zip(SOURCES, row, strict=True)
    }
    present = {source: value for source, value in by_source.items() if value is not None}
    values = {}
    for column in compared:
        seen = {source: value[column] for source, value in present.items()}
        if len(set(map(json.dumps, seen.values()))) > 1 or len(present) < 3:
            values[column] = {source: seen.get(source) for source in SOURCES}
    # The odd one out is the source whose row differs from the other two, which agree.
    signature = {
        source: json.dumps({c: value[c] for c in compared}, sort_keys=True) if value else None
        for source, value in by_source.items()
    }
    culprit = None
    for source in SOURCES:
        others = {signature[other] for other in SOURCES if other != source}
        if len(others) == 1 and signature[source] not in others:
            culprit = source
    any_row = next(iter(present.values()))
    key = tuple(any_row[k] for k in keys)
    return Drift(
        key=key[0] if len(key) == 1 else key,
        culprit=culprit,
        missing=tuple(source for source in SOURCES if by_source[source] is None),
        values={c: v for c, v in values.items() if len(set(map(json.dumps, v.values()))) > 1},
    )
