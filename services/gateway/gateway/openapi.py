"""The merged OpenAPI document: the gateway's own API plus every service's, as reachable through the gateway."""

from __future__ import annotations

import copy
import json
import logging
import threading
import time

from flask import jsonify

from .routing import INTERNAL_PREFIX, LOCAL_SEGMENTS, audited_routes, route_for, segment_of

log = logging.getLogger("gateway.openapi")

OPENAPI_PATH = "/api/v1/openapi.json"
CACHE_SECONDS = 60.0
# A document missing a service is retried sooner: the service may just be starting.
PARTIAL_CACHE_SECONDS = 5.0


def merge_documents(documents: dict[str, dict], *, title: str = "Guanjia API", missing=()) -> dict:
    """One OpenAPI document from {service: document}; the first entry is the gateway's own.

    Each service contributes only the paths the gateway routes to it (so internal routes never appear).
    A component name that two services define differently is prefixed with the service name in each of
    them (`tickets_Error`), and that service's `$ref`s are rewritten to match; identical ones are shared.
    """
    renames = _conflicting_components(documents)
    own_name = next(iter(documents))
    owners = discovered_owners(documents)
    own = documents[own_name]
    merged = {
        "openapi": own.get("openapi", "3.1.0"),
        "info": {
            "title": title,
            "version": own.get("info", {}).get("version", "v1"),
            "description": "The whole instance through its gateway. Merged from: " + ", ".join(documents) + ".",
        },
        "paths": {},
        "components": {},
        "tags": [],
    }
    if missing:
        merged["info"]["x-unavailable-services"] = sorted(missing)
    if "security" in own:
        merged["security"] = own["security"]
    tags = {}
    for service, document in documents.items():
        if renames.get(service):
            document = _rewrite_refs(document, renames[service])
        for path, item in (document.get("paths") or {}).items():
            if path.startswith(INTERNAL_PREFIX):
                continue  # service-to-service routes are not part of the public API
            if (route_for(path) or owners.get(segment_of(path)) or own_name) == service:
                merged["paths"].setdefault(path, item)
        for section, items in (document.get("components") or {}).items():
            target = merged["components"].setdefault(section, {})
            for name, definition in items.items():
                new_ref = renames.get(service, {}).get(_ref(section, name))
                target.setdefault(new_ref.rsplit("/", 1)[1] if new_ref else name, definition)
        for tag in document.get("tags") or []:
            tags.setdefault(tag.get("name"), tag)
    _drop_unused(merged, tags)
    _integrator_keys(merged, own_name)
    return merged


INTEGRATOR_SCHEME = {
    "type": "apiKey",
    "in": "header",
    "name": "X-API-Key",
    "description": "An integrator's read-only API key (POST /api/v1/api-keys): GET and HEAD on the resources "
    "the key covers; see docs/integrators.md.",
}


def _integrator_keys(merged: dict, own_name: str) -> None:
    """Document the integrators' X-API-Key as a security scheme, accepted on the services' GET operations."""
    merged["components"].setdefault("securitySchemes", {})["integratorKey"] = INTEGRATOR_SCHEME
    default = merged.get("security") or [{"bearerAuth": []}]
    for path, item in merged["paths"].items():
        if segment_of(path) in LOCAL_SEGMENTS:
            continue
        operation = item.get("get")
        if isinstance(operation, dict) and operation.get("security") != []:
            operation["security"] = [*operation.get("security", default), {"integratorKey": []}]


def discovered_owners(documents: dict[str, dict]) -> dict[str, str]:
    """{segment: service} for path prefixes a service documents that the static routing table does not list
    (a service that grows a new resource is reachable through the gateway without a gateway release)."""
    owners: dict[str, str] = {}
    for service, document in list(documents.items())[1:]:
        for path in document.get("paths") or {}:
            segment = segment_of(path)
            if segment and segment not in LOCAL_SEGMENTS and route_for(path) is None:
                owners.setdefault(segment, service)
    return owners


def _drop_unused(merged: dict, tags: dict) -> None:
    """Keep only the components and tags the kept paths use (a left-out internal route leaves nothing behind)."""
    used, pending = set(), _refs(merged["paths"])
    while pending:
        ref = pending.pop()
        if ref in used or not ref.startswith("#/components/"):
            continue
        used.add(ref)
        _, _, section, name = ref.split("/", 3)
        pending.extend(_refs(merged["components"].get(section, {}).get(name)))
    for section, items in merged["components"].items():
        if section != "securitySchemes":  # referred to by name from `security`, never by $ref
            merged["components"][section] = {n: d for n, d in items.items() if _ref(section, n) in used}
    used_tags = {
        tag
        for item in merged["paths"].values()
        for op in item.values()
        if isinstance(op, dict)
        for tag in op.get("tags") or ()
    }
    merged["tags"] = [tag for name, tag in tags.items() if name in used_tags]


def _refs(node) -> list[str]:
    if isinstance(node, dict):
        found = [v for k, v in node.items() if k == "$ref" and isinstance(v, str)]
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _ref(section: str, name: str) -> str:
    return f"#/components/{section}/{name}"


def _conflicting_components(documents: dict[str, dict]) -> dict[str, dict[str, str]]:
    """{service: {old $ref: new $ref}} for every component name defined differently by several services."""
    definitions: dict[tuple[str, str], dict[str, str]] = {}
    for service, document in documents.items():
        for section, items in (document.get("components") or {}).items():
            for name, definition in (items or {}).items():
                canonical = json.dumps(definition, sort_keys=True)
                definitions.setdefault((section, name), {})[service] = canonical
    renames: dict[str, dict[str, str]] = {}
    for (section, name), by_service in definitions.items():
        if len(set(by_service.values())) > 1:
            for service in by_service:
                renames.setdefault(service, {})[_ref(section, name)] = _ref(section, f"{service}_{name}")
    return renames


def _rewrite_refs(node, renames: dict[str, str]):
    if isinstance(node, dict):
        return {
            k: (renames.get(v, v) if k == "$ref" and isinstance(v, str) else _rewrite_refs(v, renames))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(v, renames) for v in node]
    return node


class MergedOpenApi:
    """Serves the merged document, fetched from the services at most once a minute."""

    def __init__(self, own_document, upstreams: dict, *, ttl: float = CACHE_SECONDS, timeout: float = 5.0):
        self.own_document = own_document  # callable: the gateway's own spec as a dict
        self.upstreams = upstreams
        self.ttl = ttl
        self.timeout = timeout
        self._lock = threading.Lock()
        self._cached: dict | None = None
        self._expires = 0.0
        self._owners: dict[str, str] = {}
        self._audit_table: list = []
        self._audit_source: dict | None = None
        self._fetched: dict[str, tuple[str, dict]] = {}  # service → (its ETag, its document) as last fetched

    def document(self) -> dict:
        with self._lock:
            if self._cached is None or time.monotonic() >= self._expires:
                self._cached, complete = self._build()
                self._expires = time.monotonic() + (self.ttl if complete else min(self.ttl, PARTIAL_CACHE_SECONDS))
            return self._cached

    def _build(self) -> tuple[dict, bool]:
        """The merged document; the one held when every service answers "unchanged" (its ETag) — merging and the
        audit table cost the gateway a second of CPU, once a minute in every worker, for nothing."""
        documents, missing, changed = {}, [], self._cached is None
        for name, upstream in list(self.upstreams.items()):
            if name in ("gateway", "workbench"):
                # In embedded mode the services may reach the gateway through the same table; the workbench
                # serves pages, not API paths.
                continue
            held = self._fetched.get(name)
            headers = {"Accept": "application/json"} | ({"If-None-Match": f'"{held[0]}"'} if held else {})
            try:
                response = upstream.request("GET", OPENAPI_PATH, headers=headers, timeout=self.timeout)
                if response.status == 304 and held:
                    documents[name] = held[1]
                    continue
                if response.status != 200:
                    raise RuntimeError(f"status {response.status}")
                documents[name] = response.json()
                etag = next((v for k, v in response.headers.items() if k.lower() == "etag"), "").strip('"')
                if etag:
                    self._fetched[name] = (etag, documents[name])
                changed = True
            except Exception as exc:
                log.warning("no OpenAPI document from a service", extra={"upstream": name, "error": str(exc)})
                missing.append(name)
                self._fetched.pop(name, None)
                changed = True
        if not changed:  # (a service missing last time has no ETag kept: it was fetched, or is missing, again)
            return self._cached, True
        documents = {"gateway": copy.deepcopy(self.own_document())} | documents
        self._owners = discovered_owners(documents)
        return merge_documents(documents, missing=missing), not missing

    def audited(self) -> list:
        """The audited operations of the current merged document (routing.audited_routes), rebuilt with it."""
        if self._cached is not None and time.monotonic() >= self._expires and self._lock.acquire(blocking=False):
            # One request refreshes the stale document; the others meanwhile use the table they have.
            try:
                self._cached, complete = self._build()
                self._expires = time.monotonic() + (self.ttl if complete else min(self.ttl, PARTIAL_CACHE_SECONDS))
            finally:
                self._lock.release()
        document = self._cached if self._cached is not None else self.document()
        if self._audit_source is not document:
            self._audit_table, self._audit_source = audited_routes(document), document
        return self._audit_table

    def owner_of(self, segment: str) -> str | None:
        """The service documenting paths under /api/v1/<segment>, if any (from the cached documents)."""
        self.document()
        return self._owners.get(segment)

    def view(self):
        return jsonify(self.document())
