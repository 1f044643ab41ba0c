"""Take the README's screenshots of the residents' mobile pages (/m/) with the browser tests' tooling.

Usage: .venv/bin/python scripts/mobile_screenshots.py   (writes docs/img/mobile-*.png)

Starts an embedded stack with the demo community in a temporary folder, signs the demo resident 张三 in by SMS code
(read from the console SMS provider's log) at 375 px, and photographs my household and my tickets.
"""

import logging
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from guanjia.stack import EmbeddedStack  # noqa: E402
from guanjia.testing import TEST_RATE_LIMITS_ENV, ConsoleSmsCodes  # noqa: E402
from tests.e2e.browser import PHONE, fresh, sms_sign_in, start_browser, stop_browser, wait_for  # noqa: E402

DEMO_PHONE = "13800138000"  # the demo resident 张三 (services/gateway/gateway/demo.py)


def main() -> int:
    env = {
        "GUANJIA_VAR_DIR": tempfile.mkdtemp(prefix="guanjia-shots-"),
        "GUANJIA_ADMIN_PASSWORD": "screenshot-admin-1",
        "GUANJIA_RATE_LIMITS": TEST_RATE_LIMITS_ENV,
    }
    codes = ConsoleSmsCodes()
    logger = logging.getLogger("notifications.sms")
    logger.addHandler(codes)
    logger.setLevel(logging.INFO)
    stack = EmbeddedStack(env=env, port=0).start()
    browser = None
    try:
        stack.seed()
        browser = start_browser()
        fresh(browser, PHONE)
        sms_sign_in(browser, stack.url, DEMO_PHONE, codes)
        wait_for(browser, ".m-unit")
        browser.save_screenshot(str(ROOT / "docs/img/mobile-home.png"))
        browser.get(stack.url + "/m/tickets")
        wait_for(browser, "#m-tickets")
        browser.save_screenshot(str(ROOT / "docs/img/mobile-tickets.png"))
    finally:
        if browser is not None:
            stop_browser(browser)
        stack.stop()
    print("docs/img/mobile-home.png docs/img/mobile-tickets.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
