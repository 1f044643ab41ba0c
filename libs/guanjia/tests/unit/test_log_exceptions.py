"""No log line carries personal data, not even inside an exception's message, its causes or a traceback."""

import io
import json
import logging

import pytest

from guanjia import logging as glog

NAME, PHONE, ID_NUMBER = "欧阳娜娜", "13912345678", "11010519491231002X"


def _lines(stream) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


@pytest.fixture
def stream():
    import sys
    import threading

    hooks = sys.excepthook, threading.excepthook
    out = io.StringIO()
    glog.configure("residents", "sh", stream=out)
    yield out
    logging.getLogger().handlers[:] = []
    sys.excepthook, threading.excepthook = hooks


def test_an_exception_message_with_a_name_phone_and_id_number_is_withheld(stream):
    log = logging.getLogger("residents.roster")
    try:
        try:
            raise KeyError(f"row 3: {NAME} {ID_NUMBER}")
        except KeyError as inner:
            raise ValueError(f"bad name {NAME!r} with phone {PHONE}\x07") from inner
    except ValueError:
        log.exception("export failed")
    text = stream.getvalue()
    for secret in (NAME, PHONE, ID_NUMBER, PHONE[-4:] + "\\u0007", repr(NAME)):
        assert secret not in text
    [line] = _lines(stream)
    assert line["message"] == "export failed"
    # The type, the place and a digest stay: the failure can still be found and grouped.
    assert "ValueError: " + glog.WITHHELD in line["exception"]
    assert "KeyError: " + glog.WITHHELD in line["exception"]
    assert "direct cause" in line["exception"]
    assert "test_log_exceptions.py" in line["exception"] and "raise ValueError" in line["exception"]
    same = glog.withheld(f"bad name {NAME!r} with phone {PHONE}\x07")
    assert same.split("#")[1] in line["exception"]


def test_an_unhandled_error_in_a_flask_view_logs_no_personal_data(stream):
    from guanjia.config import Settings
    from guanjia.web import create_flask_app

    app, _api = create_flask_app(Settings(service="residents", database_url="sqlite://"), title="t")

    @app.get("/boom")
    def boom():
        raise RuntimeError(f"could not write {NAME}, {PHONE}, {ID_NUMBER}")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    text = stream.getvalue()
    assert NAME not in text and PHONE not in text and ID_NUMBER not in text
    assert any("RuntimeError" in line.get("exception", "") for line in _lines(stream))


def test_a_database_error_does_not_log_its_sql_parameters(stream):
    import sqlalchemy as sa

    engine = sa.create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE people (name TEXT UNIQUE)"))
        conn.execute(sa.text("INSERT INTO people VALUES (:n)"), {"n": NAME})
        try:
            conn.execute(sa.text("INSERT INTO people VALUES (:n)"), {"n": NAME})
        except sa.exc.IntegrityError:
            logging.getLogger("residents").exception("insert failed")
    assert NAME not in stream.getvalue()
    assert "sqlalchemy.exc.IntegrityError" in _lines(stream)[-1]["exception"]


def test_an_exception_in_a_field_and_an_uncaught_one_in_a_thread_are_withheld(stream):
    import threading

    logging.getLogger("guanjia.outbox").warning("publish failed", extra={"error": ValueError(f"to {NAME} {PHONE}")})

    def crash():
        raise RuntimeError(f"consumer died on {NAME} {ID_NUMBER}")

    thread = threading.Thread(target=crash, name="consumer-1")
    thread.start()
    thread.join()
    text = stream.getvalue()
    assert NAME not in text and PHONE not in text and ID_NUMBER not in text
    first, second = _lines(stream)
    assert first["error"].startswith("ValueError: " + glog.WITHHELD)
    assert second["message"] == "uncaught exception in thread consumer-1"
    assert "RuntimeError: " + glog.WITHHELD in second["exception"]
