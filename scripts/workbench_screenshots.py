"""Take the README's screenshots of the workbench with the browser tests' tooling (Debian chromium + selenium).

Usage: .venv/bin/python scripts/workbench_screenshots.py   (writes docs/img/workbench-*.png)

Starts an embedded stack with the demo community in a temporary folder, files two repairs as the demo resident,
and photographs the butler's home on a desk monitor, a ticket on a phone and the KPI dashboard.
"""

import sys
import tempfile
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from guanjia.stack import EmbeddedStack  # noqa: E402
from guanjia.testing import TEST_RATE_LIMITS_ENV  # noqa: E402
from tests.e2e.browser import PHONE, fresh, sign_in, start_browser, stop_browser, wait_for  # noqa: E402


def _token(base: str, username: str, password: str) -> str:
    answer = requests.post(f"{base}/api/v1/auth/token", json={"username": username, "password": password}, timeout=10)
    answer.raise_for_status()
    return answer.json()["access_token"]


def main() -> int:
    var = tempfile.mkdtemp(prefix="guanjia-shots-")
    env = {
        "GUANJIA_VAR_DIR": var,
        "GUANJIA_ADMIN_PASSWORD": "screenshot-admin-1",
        "GUANJIA_RATE_LIMITS": TEST_RATE_LIMITS_ENV,
    }
    stack = EmbeddedStack(env=env, port=0).start()
    browser = None
    try:
        stack.seed()
        resident = {"Authorization": f"Bearer {_token(stack.url, 'resident', 'home-1-101-sunny')}"}
        unit_id = requests.get(f"{stack.url}/api/v1/units", headers=resident, timeout=10).json()["items"][0]["id"]
        tickets = [
            requests.post(
                f"{stack.url}/api/v1/tickets",
                headers=resident,
                json={"unit_id": unit_id, "category": category, "description": text},
                timeout=10,
            ).json()
            for category, text in [
                ("repair", "卫生间水管漏水，楼下天花板有水渍"),
                ("complaint", "晚上十点后楼上装修噪音"),
            ]
        ]
        browser = start_browser()
        fresh(browser, (1280, 860))
        sign_in(browser, stack.url, "butler", "garden-walk-2026")
        wait_for(browser, "#my-tickets")
        browser.save_screenshot(str(ROOT / "docs/img/workbench-home.png"))
        fresh(browser, PHONE)
        sign_in(browser, stack.url, "butler", "garden-walk-2026")
        wait_for(browser, "#my-tickets")
        browser.get(f"{stack.url}/tickets/{tickets[0]['id']}")
        wait_for(browser, "#ticket-actions")
        browser.save_screenshot(str(ROOT / "docs/img/workbench-ticket-phone.png"))
        fresh(browser, (1280, 1400))
        sign_in(browser, stack.url, "admin", "screenshot-admin-1")
        browser.get(f"{stack.url}/dashboard")
        wait_for(browser, "svg")
        browser.save_screenshot(str(ROOT / "docs/img/workbench-dashboard.png"))
    finally:
        if browser is not None:
            stop_browser(browser)
        stack.stop()
    print("docs/img/workbench-home.png docs/img/workbench-ticket-phone.png docs/img/workbench-dashboard.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
