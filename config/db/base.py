"""Django's PostgreSQL backend, with two costs of every request taken out.

1. A persistent connection's per-request health check is done locally instead of by a
   `SELECT 1` round trip on every request. A connection the server ended (a restart,
   `pg_terminate_backend`, an idle timeout) has data waiting on its socket: the server's FATAL
   notice, or the end of the stream. An idle connection that is fine has nothing to read. So a
   zero-timeout poll of the socket tells the two apart without asking the server, and a
   connection found dead is closed and replaced before the request uses it. (A silent network
   partition is not detected; a round trip would hang on it too.) After an error, Django still
   checks with a real query, as before.

2. Timestamps are parsed by psycopg's C loader. Django registers a loader of its own, written in
   Python, that parses each `timestamptz` with a regular expression and then replaces its time
   zone with the connection's; on a list of summary rows that was a tenth of the read. When the
   connection's time zone is UTC (USE_TZ with no per-database TIME_ZONE, as here), Django also
   sets the session's TimeZone to UTC, so psycopg's own parse already returns what Django's
   would: the same instant, with `datetime.timezone.utc`.
"""

import datetime
import functools
import select

from django.db.backends.postgresql import base
from psycopg import adapt, adapters
from psycopg.pq import Format

TIMESTAMPTZ = adapters.types["timestamptz"].oid
# psycopg's default loader for the type: its C version when psycopg[binary] is installed.
PSYCOPG_TIMESTAMPTZ_LOADER = adapters.get_loader(TIMESTAMPTZ, Format.TEXT)


class UtcTimestamptzLoader(adapt.Loader):
    # Django's create_cursor compares this with the connection's time zone, and registers its
    # own loader on the cursor if they differ.
    timezone = datetime.UTC

    def __init__(self, oid, context=None):
        super().__init__(oid, context)
        # The C loader cannot be subclassed; it reads the session's TimeZone when made (per
        # cursor), which Django has set to UTC by then.
        self._parse = PSYCOPG_TIMESTAMPTZ_LOADER(oid, context).load

    def load(self, data):
        return self._parse(data)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        if self.timezone is datetime.UTC:
            params["context"] = utc_adapters(params["context"])
        return params

    def close_if_health_check_failed(self):
        if self.connection is None or not self.health_check_enabled or self.health_check_done:
            return
        if not self._idle_and_quiet():
            self.close()
        self.health_check_done = True

    def _idle_and_quiet(self) -> bool:
        connection = self.connection
        if connection.closed or connection.broken:
            return False
        try:
            readable, _, _ = select.select([connection.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable


@functools.cache
def utc_adapters(template: adapt.AdaptersMap) -> adapt.AdaptersMap:
    """Django's adapters (one map per settings, cached), with psycopg's timestamp parse."""
    adapters_map = adapt.AdaptersMap(template)
    adapters_map.register_loader("timestamptz", UtcTimestamptzLoader)
    return adapters_map
