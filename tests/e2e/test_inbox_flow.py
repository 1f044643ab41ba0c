"""The in-app inbox through the gateway (embedded mode): a resident files a repair and finds the receipt in their
own inbox, once, with the full text; another household's resident does not."""

import time

from guanjia.testing import auth_header

from .conftest import Client, make_household, wait_for_notifications


def test_a_resident_finds_the_repair_receipt_in_their_own_inbox(embedded_stack):
    settings = embedded_stack.settings["gateway"]
    admin = Client(embedded_stack.url, auth_header(settings, "admin")["Authorization"].split()[1])
    first, second = make_household(admin), make_household(admin)
    alice = Client(embedded_stack.url).login(*first["login"])
    bob = Client(embedded_stack.url).login(*second["login"])
    ticket = alice.created(
        "/api/v1/tickets", {"unit_id": first["unit"]["id"], "category": "repair", "description": "厨房水管漏水"}
    )
    wait_for_notifications(alice, f"ticket/{ticket['id']}")  # the SMS is settled: the inbox was written before
    time.sleep(0.5)
    inbox = alice.get("/api/v1/inbox").json()
    mine = [m for m in inbox["items"] if m["subject"] == f"ticket/{ticket['id']}"]
    assert len(mine) == 1 and ticket["number"] in mine[0]["body"] and mine[0]["read"] is False
    assert inbox["unread"] >= 1
    assert not any(m["subject"] == f"ticket/{ticket['id']}" for m in bob.get("/api/v1/inbox").json()["items"])
    assert bob.post(f"/api/v1/inbox/{mine[0]['id']}/read").status_code == 404
    read = alice.post(f"/api/v1/inbox/{mine[0]['id']}/read")
    assert read.status_code == 200 and read.json()["read"] is True
