"""Database faults: bounded waits, and an unavailable database answered 503, not 500 or a hang.

PostgreSQL gets three limits, all settings (seconds):

- ``DATABASE_CONNECT_TIMEOUT`` (5): libpq's ``connect_timeout``, and the longest wait for a free
  connection of the pool.
- ``DATABASE_STATEMENT_TIMEOUT`` (15): the server's ``statement_timeout`` (sent as
  ``options=-c statement_timeout=...``), so a slow query is cancelled by the server itself.
- The watchdog: a frozen server (SIGSTOP, a network path that drops packets without a reset) cancels
  nothing and answers nothing; the client would wait forever. Each statement, commit and rollback
  registers a deadline (statement timeout + ``DATABASE_WATCHDOG_GRACE``, 2 s); one monitor thread
  shuts the socket of a connection past it, so the driver raises a disconnect at once. The pool
  then drops that connection (and every older one); a connection idle in the pool for longer than
  ``DATABASE_PING_AFTER_IDLE`` (30 s) is pinged (under the same watchdog) before it is handed out,
  so the app recovers without a restart when the server comes back, and a busy pool pays no ping
  per request. Connections are recycled after ``DATABASE_POOL_RECYCLE`` (1800 s).

Unavailability (a refused or timed-out connection, a lost connection, a statement cancelled by the
timeout, the pool exhausted) becomes ``DatabaseUnavailable``: 503 ``database_unavailable`` with
``Retry-After`` (``DATABASE_RETRY_AFTER``, 5 s).
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import exc as sa_exc

from scheduler.errors import AppError, sqlstate

# SQLSTATEs meaning "the database is not there right now": connection exceptions (class 08),
# statement cancelled by statement_timeout (57014), server shutting down or starting (57P01-57P03).
UNAVAILABLE_SQLSTATE_PREFIXES = ("08", "57014", "57P01", "57P02", "57P03", "53300")


class DatabaseUnavailable(AppError):
    status = 503
    code = "database_unavailable"

    def __init__(self, message: str, *, retry_after: int = 5):
        super().__init__(message)
        self.retry_after = retry_after


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database is not there, or is SQLAlchemy's refusal to go on with a
    connection that was lost while handling an earlier error (``PendingRollbackError`` and the like
    carry the lost connection in their context)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if _means_unavailable(current):
            return True
        if not isinstance(current, sa_exc.SQLAlchemyError):
            return False
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _means_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.TimeoutError):  # no free connection in the pool in time
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    state = sqlstate(exc)
    if state is not None:
        return state.startswith(UNAVAILABLE_SQLSTATE_PREFIXES)
    # No SQLSTATE: the driver could not reach the server, lost it, or (SQLite) the file is locked.
    return isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError))


def unavailable(exc: BaseException, retry_after: int) -> DatabaseUnavailable:
    timed_out = isinstance(exc, sa_exc.DBAPIError) and sqlstate(exc) == "57014"
    message = (
        "The database took too long to answer; nothing was saved. Retry shortly."
        if timed_out
        else "The database is unavailable right now; nothing was saved. Retry shortly."
    )
    return DatabaseUnavailable(message, retry_after=retry_after)


class Watchdog:
    """One monitor thread; each connection in use has at most one deadline."""

    def __init__(self, seconds: float, tick: float = 0.25):
        self.seconds = seconds
        self.tick = tick
        self._deadlines: dict[int, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.cut = 0  # connections cut so far (read by tests and logs)

    def arm(self, dbapi_connection) -> None:
        with self._lock:
            self._deadlines[id(dbapi_connection)] = (time.monotonic() + self.seconds, dbapi_connection)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="db-watchdog", daemon=True)
                self._thread.start()

    def disarm(self, dbapi_connection) -> None:
        with self._lock:
            self._deadlines.pop(id(dbapi_connection), None)

    def _run(self) -> None:
        while True:
            time.sleep(self.tick)
            now = time.monotonic()
            with self._lock:
                overdue = [(key, conn) for key, (deadline, conn) in self._deadlines.items() if deadline <= now]
                for key, _ in overdue:
                    del self._deadlines[key]
            for _, conn in overdue:
                self._cut(conn)

    def _cut(self, dbapi_connection) -> None:
        try:
            fd = dbapi_connection.fileno()
        except Exception:  # noqa: BLE001 - already closed: nothing to cut
            return
        try:
            sock = socket.socket(fileno=socket.dup(fd))
        except OSError:
            return
        try:
            sock.shutdown(socket.SHUT_RDWR)  # the waiting driver sees end-of-file at once
            self.cut += 1
        except OSError:
            pass
        finally:
            sock.close()


def postgres_connect_args(config) -> dict:
    statement_ms = int(float(config["DATABASE_STATEMENT_TIMEOUT"]) * 1000)
    return {
        "connect_timeout": max(1, round(float(config["DATABASE_CONNECT_TIMEOUT"]))),
        "options": f"-c statement_timeout={statement_ms}",
    }


def guard_postgres(engine: Engine, config) -> Watchdog:
    """The watchdog on every statement, commit and rollback, and a guarded ping at checkout."""
    watchdog = Watchdog(float(config["DATABASE_STATEMENT_TIMEOUT"]) + float(config["DATABASE_WATCHDOG_GRACE"]))

    @event.listens_for(engine, "before_cursor_execute")
    def _arm(conn, cursor, statement, parameters, context, executemany):
        watchdog.arm(conn.connection.dbapi_connection)

    @event.listens_for(engine, "after_cursor_execute")
    def _disarm(conn, cursor, statement, parameters, context, executemany):
        watchdog.disarm(conn.connection.dbapi_connection)

    @event.listens_for(engine, "handle_error")
    def _disarm_on_error(context):
        if context.connection is not None and context.connection.connection.dbapi_connection is not None:
            watchdog.disarm(context.connection.connection.dbapi_connection)

    for name in ("commit", "rollback"):

        @event.listens_for(engine, name)
        def _arm_end(conn):
            if conn.invalidated:  # a connection found dead (no checkout ping any more): nothing to guard
                return
            try:
                dbapi_connection = conn.connection.dbapi_connection
            except sa_exc.SQLAlchemyError:  # invalid transaction: the rollback only resets the pool's state
                return
            if dbapi_connection is not None:
                watchdog.arm(dbapi_connection)  # disarmed when the connection goes back

    idle_ping = float(config.get("DATABASE_PING_AFTER_IDLE", 30))

    @event.listens_for(engine.pool, "checkin")
    def _checked_in(dbapi_connection, record):
        if dbapi_connection is not None:
            watchdog.disarm(dbapi_connection)
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _ping(dbapi_connection, record, proxy):
        """SQLAlchemy's pessimistic ping, under the watchdog (pool_pre_ping's own ping has none), for a
        connection that sat idle in the pool longer than ``DATABASE_PING_AFTER_IDLE``: a busy pool
        pays no round trip per request. A connection that died while in use is thrown away by the
        disconnect handling (the pool drops every older connection with it); ``pool_recycle``
        replaces old ones."""
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_ping:
            return
        watchdog.arm(dbapi_connection)
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            dbapi_connection.rollback()
        except Exception as exc:  # noqa: BLE001 - any failure: throw this connection away, try another
            raise sa_exc.DisconnectionError(str(exc).splitlines()[0] if str(exc) else "ping failed") from exc
        finally:
            watchdog.disarm(dbapi_connection)

    return watchdog
