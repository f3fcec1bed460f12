"""Which errors mean "the database is not there": the 503 the product answers instead of a 500."""

import itertools

import psycopg
import pytest
from flask import Flask
from sqlalchemy import exc as sa_exc

from scheduler.dbfaults import DatabaseUnavailable, is_unavailable
from scheduler.errors import as_app_error


def _lost() -> sa_exc.OperationalError:
    return sa_exc.OperationalError("SELECT 1", {}, psycopg.OperationalError("server closed the connection"), True)


def _conflict() -> sa_exc.IntegrityError:
    orig = psycopg.errors.UniqueViolation("duplicate key")
    return sa_exc.IntegrityError("INSERT", {}, orig)


def _raised_while_handling(first: BaseException, then: BaseException) -> BaseException:
    return _chain(first, then)


def _chain(*raised: BaseException) -> BaseException:
    """Each exception raised while handling the one before (``__context__``), the last returned."""
    for earlier, later in itertools.pairwise(raised):
        later.__context__ = earlier
    return raised[-1]


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (_lost, True),
        (_conflict, False),
        (lambda: sa_exc.TimeoutError("pool exhausted"), True),
        (lambda: sa_exc.PendingRollbackError("Can't reconnect until invalid transaction is rolled back"), False),
        # SQLAlchemy's refusal to go on after a connection was lost while handling a conflict
        (lambda: _chain(_conflict(), _lost(), sa_exc.PendingRollbackError("x")), True),
        (lambda: _raised_while_handling(_lost(), sa_exc.PendingRollbackError("x")), True),
        (lambda: _raised_while_handling(_conflict(), sa_exc.PendingRollbackError("x")), False),
        # a bug raised while the database was failing is still a bug
        (lambda: _raised_while_handling(_lost(), ValueError("bug")), False),
    ],
)
def test_is_unavailable(make, expected):
    assert is_unavailable(make()) is expected


def test_a_refusal_after_a_lost_connection_answers_503():
    app = Flask(__name__)
    app.config["DATABASE_RETRY_AFTER"] = 7
    with app.test_request_context("/api/v1/patients/1/courses", method="POST"):
        err = as_app_error(_raised_while_handling(_lost(), sa_exc.PendingRollbackError("x")))
    assert isinstance(err, DatabaseUnavailable) and err.status == 503 and err.retry_after == 7
