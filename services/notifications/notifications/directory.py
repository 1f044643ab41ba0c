"""Who to tell and how to reach them, asked at send time with the service credential: residents and gateway."""

from __future__ import annotations

from contextlib import contextmanager
from urllib.parse import quote

from guanjia.errors import UpstreamUnavailable
from guanjia.http import RoutedUpstreams, ServiceClient


class DirectoryUnavailable(Exception):
    """Residents or gateway could not answer now (down, 5xx, credential refused): try again later."""


CONTACTS_AT_ONCE = 500  # residents' limit per call


@contextmanager
def _reaching(client: ServiceClient):
    """A call to residents or the gateway: what it could not answer is DirectoryUnavailable (retry later)."""
    try:
        yield
    except UpstreamUnavailable as exc:  # also a service that is not part of this instance
        # Chained, so the consumer can tell an outage (pause) from a refusal (retry budget).
        raise DirectoryUnavailable(f"{client.target} unavailable: {exc}") from exc


def _q(value: str) -> str:
    return quote(str(value), safe="")


class Directory:
    def __init__(self, settings, upstreams: dict):
        routed = RoutedUpstreams(settings, upstreams)
        self.residents = ServiceClient(settings, routed, "residents")
        self.gateway = ServiceClient(settings, routed, "gateway")

    @staticmethod
    def _get(client: ServiceClient, path: str):
        # 5xx, or 401/403 from a credential mismatch: retry later rather than drop the message.
        with _reaching(client):
            return client.get_found(path)

    def resident_contact(self, resident_id: str) -> dict | None:
        return self._get(self.residents, f"/api/v1/internal/residents/{_q(resident_id)}/contact")

    def resident_contacts(self, resident_ids: list[str]) -> dict[str, dict] | None:
        """The contacts of several residents in one call per CONTACTS_AT_ONCE, {resident id: contact} (an unknown
        one left out); None when residents does not offer the call (an older version): ask one by one."""
        found: dict[str, dict] = {}
        for start in range(0, len(resident_ids), CONTACTS_AT_ONCE):
            ids = resident_ids[start : start + CONTACTS_AT_ONCE]
            path = "/api/v1/internal/residents/contacts"
            with _reaching(self.residents):
                response = self.residents.request("POST", path, json={"resident_ids": ids})
                if response.status in (404, 405):
                    return None
                if response.status != 200:
                    raise UpstreamUnavailable(
                        f"residents answered {response.status} for {path}", extra={"upstream_status": response.status}
                    )
            found.update((c["resident_id"], c) for c in response.json().get("contacts") or ())
        return found

    def unit_contacts(self, unit_id: str, roles: str = "owner") -> list[dict] | None:
        found = self._get(self.residents, f"/api/v1/internal/units/{_q(unit_id)}/contacts?roles={_q(roles)}")
        return None if found is None else list(found.get("contacts") or [])

    def zone(self, zone_id: str) -> dict | None:
        return self._get(self.residents, f"/api/v1/internal/zones/{_q(zone_id)}")

    def community_recipients(self, community_id: str, scope: str, target_id: str | None) -> list[dict] | None:
        path = f"/api/v1/internal/communities/{_q(community_id)}/recipients?scope={_q(scope)}"
        if target_id:
            path += f"&target_id={_q(target_id)}"
        found = self._get(self.residents, path)
        return None if found is None else list(found.get("contacts") or [])

    def user_contact(self, user_id: str) -> dict | None:
        return self._get(self.gateway, f"/api/v1/internal/users/{_q(user_id)}/contact")

    def users(self, community_id: str, role: str) -> list[dict]:
        found = self._get(self.gateway, f"/api/v1/internal/users?community_id={_q(community_id)}&role={_q(role)}")
        return [] if found is None else list(found.get("items") or [])

    def unit(self, unit_id: str) -> dict | None:
        """The unit with its community (and contacts): {"unit_id", "community_id", "contacts"} or None."""
        return self._get(self.residents, f"/api/v1/internal/units/{_q(unit_id)}/contacts?roles=owner")
