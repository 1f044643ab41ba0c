"""Scaling out is replicas: two web and two worker processes per service, each service with its own broker
user on the city's own vhost (deploy/rabbitmq/definitions.json), handle the same flows with nothing lost or
doubled — and /metrics on each web replica adds up over its gunicorn workers.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from guanjia.testing import EventRecorder

from .conftest import ADMIN_PASSWORD, Client, make_household, wait_for_notifications

TICKETS_PER_HOUSEHOLD = 6


def _metric_total(url: str, name: str, **labels) -> float:
    body = requests.get(url + "/metrics", timeout=10).text
    total = 0.0
    for line in body.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _posted(url: str) -> float:
    return _metric_total(url, "guanjia_http_requests_total", service="tickets", route="/api/v1/tickets", status="201")


def test_two_web_and_two_worker_processes_per_service_lose_nothing_and_double_nothing(scaled_stack, broker_city):
    stack = scaled_stack
    gateways = stack.replica_urls("gateway")
    tickets_replicas = stack.replica_urls("tickets")
    assert len(gateways) == 2 and len(tickets_replicas) == 2
    before = [_posted(url) for url in tickets_replicas]  # the stack is shared with other tests of the session
    recorder = EventRecorder(stack.settings["tickets"].with_service("recorder", amqp_url=broker_city.admin_url), "#")
    try:
        admin = Client(gateways[0]).login("admin", ADMIN_PASSWORD)
        households = [make_household(admin, f"scale-{uuid.uuid4().hex[:4]}-{i}") for i in range(3)]
        residents = [Client(gateways[i % 2]).login(*h["login"]) for i, h in enumerate(households)]

        def file(job):
            index, n = job
            household, resident = households[index], residents[index]
            # Half the tickets through either gateway, half straight to either tickets replica (as pods behind a
            # Service would receive them); every web process checks the token itself.
            base = gateways[n % 2] if n < TICKETS_PER_HOUSEHOLD // 2 else tickets_replicas[n % 2]
            response = requests.post(
                f"{base}/api/v1/tickets",
                json={"unit_id": household["unit"]["id"], "category": "repair", "description": f"漏水 {n}"},
                headers={"Authorization": f"Bearer {resident.token}"},
                timeout=20,
            )
            assert response.status_code == 201, response.text
            return response.json()

        jobs = [(i, n) for i in range(len(households)) for n in range(TICKETS_PER_HOUSEHOLD)]
        with ThreadPoolExecutor(6) as pool:
            tickets = list(pool.map(file, jobs))
        ids = {t["id"] for t in tickets}
        assert len(ids) == len(jobs)
        assert len({t["number"] for t in tickets}) == len(jobs), "ticket numbers must stay unique across replicas"

        # Each ticket: exactly one ticket.created on the bus and exactly one SMS delivery (the notifications
        # consumers of both worker processes race for it), whichever relay published it.
        for ticket, (index, _) in zip(tickets, jobs, strict=True):
            wait_for_notifications(residents[index], f"ticket/{ticket['id']}", timeout=60)
        time.sleep(1.5)  # room for a doubled relay publish or a doubled delivery to show up
        for ticket, (index, _) in zip(tickets, jobs, strict=True):
            assert len(wait_for_notifications(residents[index], f"ticket/{ticket['id']}")) == 1
        created = [e for e in recorder.of_type("ticket.created") if e["data"]["ticket_id"] in ids]
        assert sorted(e["data"]["ticket_id"] for e in created) == sorted(ids), "a ticket.created lost or doubled"
    finally:
        recorder.close()

    # Both tickets replicas served requests, and each one's /metrics sums its own workers' counts.
    posted = [_posted(url) - earlier for url, earlier in zip(tickets_replicas, before, strict=True)]
    assert all(count > 0 for count in posted), posted
    assert sum(posted) == len(jobs)
    for url in tickets_replicas:
        assert _metric_total(url, "guanjia_outbox_backlog", service="tickets") == 0
