"""A QuerySet for the read side's reads that does not compile the same statement again on every
request.

A list read of a summary table is a millisecond or less, and Django spent half of it compiling:
it resolves every column and every ORDER BY name again each time, for a statement that differs
between two requests only in its WHERE clause and its LIMIT. So for a plain read (one table,
every column, ordered by fields or not at all, with no annotations, joins or other clauses),
`ReadQuerySet` has Django compile just the WHERE clause, which carries the request's values, and
takes the rest of the statement from a frame made once per (model, ordering). Rows become model
instances with `Model.from_db`, as Django's own iterator makes them.

Nothing here is trusted without being checked: the first time a frame is used, the statement it
makes is compared with the one Django compiles for the same queryset, to the character and with
the same parameters. A frame that differs is never used; anything that is not a plain read (a
search with its rank, `values()`, `select_related`, a join…) is Django's path, unchanged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable
from django.db.models.sql.where import WhereNode

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Frame:
    """A statement's fixed parts: `SELECT <columns> FROM <table>` and `ORDER BY <fields>` (empty
    for a read in no order, such as `get()`)."""

    select: str
    order_by: str
    # (index, column, its converters) for the columns whose values Django converts after
    # fetching them (a JSON field's, say): what the compiler's get_converters() gives.
    converters: tuple[tuple[int, Any, tuple[Any, ...]], ...]

    def sql(self, where: str, limits: str) -> str:
        parts = [self.select]
        if where:
            parts += ["WHERE", where]
        if self.order_by:
            parts += ["ORDER BY", self.order_by]
        if limits:
            parts.append(limits)
        return " ".join(parts)


# (database alias, model, ordering, Meta.ordering applies) -> its frame, or None where the frame
# did not match Django.
# Written once per key (two threads checking the same key at once write the same frame).
_frames: dict[tuple[str, type[Model], tuple[str, ...], bool], Frame | None] = {}
_UNCHECKED = object()


class ReadQuerySet(QuerySet):
    """A QuerySet whose plain reads run from a frame (see the module's docstring); everything
    else about it is Django's QuerySet."""

    def _fetch_all(self):
        if self._result_cache is None and self._plain():
            self._result_cache = self._fetch_framed()
        super()._fetch_all()

    def _plain(self) -> bool:
        """Whether this is a read a frame can make: every column of one table, in an order of
        field names or in none, with nothing else around it."""
        query = self.query
        return (
            self._iterable_class is ModelIterable
            and not self._prefetch_related_lookups
            and not self._known_related_objects
            and query.default_cols
            and not query.select
            and not query.annotations
            and not query.extra
            and not query.extra_order_by
            and not query.select_related
            and not query.distinct
            and not query.combinator
            and not query.select_for_update
            and query.group_by is None
            and query.standard_ordering
            and query.deferred_loading == (frozenset(), True)
            and len(query.alias_map) == 1
            and all(
                isinstance(name, str) and name.lstrip("-").isidentifier() for name in query.order_by
            )
        )

    def _fetch_framed(self) -> list[Model] | None:
        """The rows, or None to leave the read to Django (and the first use of a frame checked
        against it)."""
        connection = connections[self.db]
        # Whether the model's Meta.ordering applies is part of the key: get() turns it off.
        key = (self.db, self.model, tuple(self.query.order_by), self.query.default_ordering)
        frame = _frames.get(key, _UNCHECKED)
        if frame is None:
            return None
        compiler = self.query.get_compiler(self.db)
        try:
            where, params = compiler.compile(self.query.where)
        except FullResultSet:
            where, params = "", []
        except EmptyResultSet:
            return None  # Django answers that without asking the database
        limits = connection.ops.limit_offset_sql(self.query.low_mark, self.query.high_mark)
        if frame is _UNCHECKED:
            frame = self._check(key, where, params, limits)
            if frame is None:
                return None
        with connection.cursor() as cursor:
            cursor.execute(frame.sql(where, limits), params)
            rows = cursor.fetchall()
        return [self._instance(frame, row, connection) for row in rows]

    def _instance(self, frame: Frame, row: tuple, connection) -> Model:
        if frame.converters:
            row = list(row)
            for index, column, converters in frame.converters:
                for converter in converters:
                    row[index] = converter(row[index], column, connection)
        return self.model.from_db(self.db, None, row)

    def _check(self, key, where, params, limits) -> Frame | None:
        """Make the frame of `key` from Django's statement for this queryset, keep it if the
        statement it makes is Django's exactly, and say so in the log if not."""
        compiler = self.query.get_compiler(self.db)
        django_sql, django_params = compiler.as_sql()
        bare = self.query.chain()
        bare.where = WhereNode()
        bare.clear_limits()
        bare_sql, _ = bare.get_compiler(self.db).as_sql()
        select, _, order_by = bare_sql.partition(" ORDER BY ")
        columns = [column for column, _, _ in compiler.select]
        converters = tuple(
            (index, column, tuple(found))
            for index, column in enumerate(columns)
            if (
                found := compiler.connection.ops.get_db_converters(column)
                + column.get_db_converters(compiler.connection)
            )
        )
        frame = Frame(select=select, order_by=order_by, converters=converters)
        matches = (
            [column.target for column in columns] == list(self.model._meta.concrete_fields)
            and frame.sql(where, limits) == django_sql
            and list(params) == list(django_params)
        )
        _frames[key] = frame if matches else None
        if not matches:
            logger.warning(
                "A read of %s ordered by %s is left to Django: its statement is not the frame's",
                self.model._meta.label,
                ", ".join(key[2]) or "nothing",
            )
        return _frames[key]
