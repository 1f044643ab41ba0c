"""The workbench reads the time from its app's one clock (create_app(clock=)), as every service app does."""

from datetime import UTC, datetime

from guanjia import config, web
from guanjia.db import utcnow
from workbench.app import create_app
from workbench.views import dashboard


def _app(tmp_path, **kwargs):
    return create_app(config.from_env("workbench", {"GUANJIA_VAR_DIR": str(tmp_path)}), upstreams={}, **kwargs)


def test_request_code_reads_the_injected_clock(tmp_path):
    # 23:30 UTC on 1 December is already 2 December in Shanghai: the dashboard's "today" follows the clock.
    fixed = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    app = _app(tmp_path, clock=lambda: fixed)
    with app.test_request_context("/"):
        assert web.now() == fixed
        assert dashboard._today().isoformat() == "2026-12-02"


def test_without_a_clock_it_is_the_wall_clock(tmp_path):
    with _app(tmp_path).test_request_context("/"):
        before = utcnow()
        assert before <= web.now() <= utcnow()
