"""Staff display names for the services' responses: one batched, briefly cached gateway call per response."""

from __future__ import annotations

import logging
import threading
import time
from urllib.parse import urlencode

from .errors import UpstreamUnavailable
from .http import RoutedUpstreams, ServiceClient

# A name changes rarely; a page shown a minute late with the old one is fine, one call per row is not.
TTL_SECONDS = 300.0
MAX_BATCH = 500
RETRY_AFTER_SECONDS = 10.0
log = logging.getLogger("guanjia.names")


# The given upstreams, falling back to HTTP at the configured URL (the gateway is not among a service's own).
Routed = RoutedUpstreams


def is_person(actor_id: str | None) -> bool:
    """A gateway user id, not a system actor such as `system:routing` or `service:tickets`."""
    return bool(actor_id) and ":" not in actor_id


class StaffNames:
    """{user id: display name} from the gateway's `/api/v1/internal/users/names`, with the service credential.

    Display fields never fail a response: when the gateway cannot answer, the names are simply absent (None).
    """

    def __init__(self, settings, upstreams: dict, ttl: float = TTL_SECONDS, clock=time.monotonic):
        self.client = ServiceClient(settings, Routed(settings, upstreams), "gateway")
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()
        self._down_until = 0.0  # after a failed call, responses go without names for a moment instead of waiting

    def lookup(self, ids) -> dict[str, str | None]:
        wanted = {i for i in ids if is_person(i)}
        now = self.clock()
        with self._lock:
            fresh = {i: hit[1] for i in wanted if (hit := self._cache.get(i)) and hit[0] > now}
        missing = sorted(wanted - fresh.keys())
        for start in range(0, len(missing), MAX_BATCH):
            batch = missing[start : start + MAX_BATCH]
            found = self._fetch(batch)
            if found is None:
                continue  # not cached: the next response asks again
            with self._lock:
                for user_id in batch:
                    self._cache[user_id] = (now + self.ttl, found.get(user_id))
            fresh.update({user_id: found.get(user_id) for user_id in batch})
        return fresh

    def _fetch(self, batch: list[str]) -> dict | None:
        if self.clock() < self._down_until:
            return None
        reason = None
        try:
            path = "/api/v1/internal/users/names?" + urlencode([("ids", i) for i in batch])
            response = self.client.get(path, timeout=2.0)
        except UpstreamUnavailable as exc:
            response, reason = None, str(exc)  # "gateway did not answer in time", "… is unreachable"
        if response is None or response.status != 200:
            self._down_until = self.clock() + RETRY_AFTER_SECONDS
            # Said once per pause: the pages still answer (with ids where names would be), an operator sees why.
            log.warning(
                "staff names unavailable: responses show ids for %.0f s",
                RETRY_AFTER_SECONDS,
                extra={"upstream_status": getattr(response, "status", None), "reason": reason},
            )
            return None
        return dict(response.json().get("names") or {})

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()


def staff_names(ids) -> dict[str, str | None]:
    """In a request: the current app's staff names (its StaffNames is built on first use from its upstreams)."""
    from flask import current_app

    names = current_app.extensions.get("guanjia.staff_names")
    if names is None:
        settings = current_app.extensions["guanjia.settings"]
        names = StaffNames(settings, current_app.extensions.get("guanjia.upstreams") or {})
        current_app.extensions["guanjia.staff_names"] = names
    return names.lookup(ids)
