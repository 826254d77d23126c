"""Django's PostgreSQL backend, with a persistent connection's per-request health check done
locally instead of by a `SELECT 1` round trip on every request.

A connection the server ended (a restart, `pg_terminate_backend`, an idle timeout) has data
waiting on its socket: the server's FATAL notice, or the end of the stream. An idle connection
that is fine has nothing to read. So a zero-timeout poll of the socket tells the two apart
without asking the server, and a connection found dead is closed and replaced before the
request uses it. (A silent network partition is not detected; a round trip would hang on it
too.) After an error, Django still checks with a real query, as before.
"""

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
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
