"""Staff display names: one batched call, cached; when the gateway cannot answer the names are absent for a pause
(the page still answers), the pause is logged once with the reason, and the names come back after it."""

import json
import logging

from guanjia.config import Settings
from guanjia.errors import UpstreamUnavailable
from guanjia.http import UpstreamResponse
from guanjia.names import RETRY_AFTER_SECONDS, StaffNames
from guanjia.testing import TEST_JWT_PRIVATE_KEY, TEST_SERVICE_KEY

SETTINGS = Settings(
    service="billing", database_url="sqlite://", jwt_private_key=TEST_JWT_PRIVATE_KEY, service_key=TEST_SERVICE_KEY
)


class RecordingGateway:
    """The gateway's internal names route as a fake that records each call and answers what it is told to."""

    def __init__(self):
        self.calls: list[str] = []
        self.answer = "names"

    def request(self, method, path, *, headers=None, json=None, timeout=5.0, **_):
        self.calls.append(path)
        if self.answer == "timeout":
            raise UpstreamUnavailable("gateway did not answer in time", status=504)
        if self.answer == "503":
            return UpstreamResponse(503, {}, b"{}")
        return UpstreamResponse(200, {}, _names_body(path))


def _names_body(path: str) -> bytes:
    ids = [part.split("=", 1)[1] for part in path.split("?", 1)[1].split("&")]
    return json.dumps({"names": {i: f"name of {i}" for i in ids}}).encode()


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_names_are_fetched_once_per_batch_and_cached_and_system_actors_are_not_asked_for():
    gateway, clock = RecordingGateway(), Clock()
    names = StaffNames(SETTINGS, {"gateway": gateway}, clock=clock)
    assert names.lookup(["u1", "u2", "system:routing"]) == {"u1": "name of u1", "u2": "name of u2"}
    assert names.lookup(["u2", "u1"]) == {"u1": "name of u1", "u2": "name of u2"}
    assert len(gateway.calls) == 1


def test_an_unanswered_call_pauses_the_lookups_says_why_once_and_names_return_after_the_pause(caplog):
    gateway, clock = RecordingGateway(), Clock()
    names = StaffNames(SETTINGS, {"gateway": gateway}, clock=clock)
    gateway.answer = "timeout"
    with caplog.at_level(logging.WARNING, logger="guanjia.names"):
        assert names.lookup(["u1"]) == {}
        clock.now += RETRY_AFTER_SECONDS - 1
        assert names.lookup(["u1"]) == {}  # within the pause: not asked again
    assert len(gateway.calls) == 1
    warnings = [r for r in caplog.records if r.name == "guanjia.names"]
    assert len(warnings) == 1 and warnings[0].reason == "gateway did not answer in time"

    gateway.answer = "503"
    clock.now += 2
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="guanjia.names"):
        assert names.lookup(["u1"]) == {}
    assert [r.upstream_status for r in caplog.records if r.name == "guanjia.names"] == [503]

    gateway.answer = "names"
    clock.now += RETRY_AFTER_SECONDS + 1
    assert names.lookup(["u1"]) == {"u1": "name of u1"}
    assert len(gateway.calls) == 3
