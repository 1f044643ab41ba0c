"""Two transactions that lock the same rows in opposite orders deadlock on PostgreSQL; the one rolled back is done
again by `retried_on_conflict` and succeeds — while any other error is not retried."""

import threading

import pytest
from sqlalchemy import text

from guanjia.db import Database, ensure_postgres_database, is_conflict, retried_on_conflict


@pytest.fixture
def database(infra):
    settings = infra.settings("libtest", database="libtest_conflicts")
    ensure_postgres_database(settings.database_url)
    database = Database(settings.database_url)
    with database.transaction() as session:
        session.execute(text("DROP TABLE IF EXISTS counters"))
        session.execute(text("CREATE TABLE counters (id int PRIMARY KEY, value int NOT NULL)"))
        session.execute(text("INSERT INTO counters VALUES (1, 0), (2, 0)"))
    yield database
    database.dispose()


def _bump(session, row: int) -> None:
    session.execute(text("UPDATE counters SET value = value + 1 WHERE id = :id"), {"id": row})


def test_the_transaction_rolled_back_for_a_deadlock_is_done_again(database):
    both_hold_one = threading.Barrier(2, timeout=10)
    attempts, other_error = [], []

    def other() -> None:  # rows 1 then 2; waits long before it looks for a deadlock, so the work below is the victim
        try:
            with database.transaction() as session:
                session.execute(text("SET LOCAL deadlock_timeout = '10s'"))
                _bump(session, 1)
                both_hold_one.wait()
                _bump(session, 2)
        except Exception as exc:  # noqa: BLE001 - reported below
            other_error.append(exc)

    def work() -> str:  # rows 2 then 1
        attempts.append(1)
        with database.transaction() as session:
            session.execute(text("SET LOCAL deadlock_timeout = '100ms'"))
            _bump(session, 2)
            if len(attempts) == 1:
                both_hold_one.wait()
            _bump(session, 1)
        return "done"

    thread = threading.Thread(target=other)
    thread.start()
    assert retried_on_conflict(work) == "done"
    thread.join(20)
    assert other_error == [] and len(attempts) == 2
    with database.transaction() as session:
        assert dict(session.execute(text("SELECT id, value FROM counters")).all()) == {1: 2, 2: 2}


def test_other_errors_are_not_retried(database):
    attempts = []

    def work():
        attempts.append(1)
        with database.transaction() as session:
            session.execute(text("INSERT INTO counters VALUES (1, 0)"))  # a unique violation: not a conflict

    with pytest.raises(Exception) as raised:
        retried_on_conflict(work)
    assert not is_conflict(raised.value) and attempts == [1]


def test_a_conflict_not_retried_is_a_503_that_says_so_not_an_unreachable_database(database):
    """A deadlock that reaches the web layer: 503 with Retry-After, worded as what it is (in zh-CN on request)."""
    from flask import Flask

    from guanjia.web import dependency_unavailable

    both_hold_one = threading.Barrier(2, timeout=10)
    errors = []

    def bump(first: int, second: int, timeout: str) -> None:
        try:
            with database.transaction() as session:
                session.execute(text(f"SET LOCAL deadlock_timeout = '{timeout}'"))
                _bump(session, first)
                both_hold_one.wait()
                _bump(session, second)
        except Exception as exc:  # noqa: BLE001 - the victim's error is the subject
            errors.append(exc)

    threads = [threading.Thread(target=bump, args=args) for args in ((1, 2, "10s"), (2, 1, "100ms"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len(errors) == 1 and is_conflict(errors[0])
    app = Flask(__name__)
    for language, expected in (("en", "a concurrent change"), ("zh-CN", "另一操作修改")):
        with app.test_request_context("/api/v1/billing-runs", headers={"Accept-Language": language}):
            response = dependency_unavailable(errors[0])
        assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
        assert expected in response.get_json()["detail"] and "reach" not in response.get_json()["detail"]
