"""The merged OpenAPI document, the Swagger UI page, and readiness that reports each service."""

from gateway.app import create_app
from gateway.bootstrap import bootstrap
from guanjia.http import HttpUpstream


def test_the_merged_document_holds_the_gateway_and_the_services(routed_client):
    response = routed_client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json
    paths = document["paths"]
    assert "/api/v1/auth/token" in paths and "/api/v1/users" in paths
    assert "/api/v1/tickets" in paths and "/api/v1/tickets/{ticket_id}" in paths
    assert paths["/api/v1/auth/token"]["post"]["security"] == []  # logging in needs no token
    schemas = document["components"]["schemas"]
    assert {"TicketOut", "UserOut", "TokenRequest"} <= set(schemas)
    # Every reference resolves inside the merged document.
    refs = _refs(document)
    assert refs and all(ref.rsplit("/", 1)[1] in schemas for ref in refs if ref.startswith("#/components/schemas/"))
    assert not any(path.startswith("/api/v1/internal") for path in paths)


def _refs(node):
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_a_service_that_is_down_is_left_out_of_the_document_and_named(gateway_settings, closed_port):
    app = create_app(
        gateway_settings, upstreams={"tickets": HttpUpstream("tickets", f"http://127.0.0.1:{closed_port}")}
    )
    document = app.test_client().get("/api/v1/openapi.json").json
    assert "/api/v1/auth/token" in document["paths"]
    assert "/api/v1/tickets" not in document["paths"]
    assert document["info"]["x-unavailable-services"] == ["tickets"]


def test_the_docs_page_shows_the_merged_document(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "/api/v1/openapi.json" in response.get_data(as_text=True)


def test_the_docs_page_renders_offline_from_our_own_assets(client):
    """No CDN: every URL in the page is ours, each asset answers 200, and no validator badge is fetched."""
    import re

    html = client.get("/api/v1/docs").get_data(as_text=True)
    urls = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r'url: "([^"]+)"', html)
    assert {"swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"} <= {
        url.rsplit("/", 1)[-1] for url in urls
    }
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]", html, re.I), "the docs page names another host"
    assert '"validatorUrl": null' in html
    for url in urls:
        assert url.startswith("/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.content_length or asset.get_data()
    # The assets need no token (a browser fetches them without one) but stay inside their directory.
    assert client.get("/api/v1/docs/assets/../../../etc/passwd").status_code == 404


def test_readiness_reports_each_service(routed_client, gateway_settings, closed_port):
    bootstrap(gateway_settings)  # ready also means the first admin exists
    response = routed_client.get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json["checks"]["upstream:tickets"] == "ok"
    assert response.json["checks"]["database"] == "ok"

    down = create_app(
        gateway_settings, upstreams={"tickets": HttpUpstream("tickets", f"http://127.0.0.1:{closed_port}")}
    )
    response = down.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["upstream:tickets"].startswith("failed")


def test_health_is_public_and_metrics_need_the_metrics_token(client, gateway_settings, tickets_app):
    import dataclasses

    from gateway.app import create_app
    from guanjia.http import WsgiUpstream

    assert client.get("/healthz").json == {"status": "ok", "service": "gateway"}
    # The gateway's port is the public one: without a configured token it does not serve /metrics at all.
    assert client.get("/metrics").status_code == 404
    settings = dataclasses.replace(gateway_settings, metrics_token="scrape-secret-123")
    gateway = create_app(settings, upstreams={"tickets": WsgiUpstream("tickets", tickets_app)}).test_client()
    gateway.get("/api/v1/tickets", headers={"Authorization": "Bearer nope"})
    assert gateway.get("/metrics").status_code == 401
    assert gateway.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    metrics = gateway.get("/metrics", headers={"Authorization": "Bearer scrape-secret-123"})
    assert metrics.status_code == 200 and "guanjia_http_requests_total" in metrics.get_data(as_text=True)


def test_the_document_is_merged_again_only_when_a_service_changed_its_own(gateway_settings, tickets_app, tickets_url):
    """Once a minute every gateway worker asks each service for its document: a service answers 304 to the ETag it
    gave, and the gateway then keeps the merged document (and its audit table) instead of merging anew."""
    from gateway.openapi import OPENAPI_PATH, MergedOpenApi
    from guanjia.http import WsgiUpstream

    asked = []

    class Recording(HttpUpstream):
        def request(self, method, path, **kwargs):
            response = super().request(method, path, **kwargs)
            asked.append((kwargs["headers"].get("If-None-Match"), response.status))
            return response

    served = tickets_app.test_client().get(OPENAPI_PATH)
    etag = served.headers["ETag"]
    assert tickets_app.test_client().get(OPENAPI_PATH, headers={"If-None-Match": etag}).status_code == 304

    merged = MergedOpenApi(lambda: {"openapi": "3.1.0", "paths": {}}, {"tickets": Recording("tickets", tickets_url)})
    first = merged.document()
    table = merged.audited()
    merged._expires = 0.0  # a minute later
    assert merged.audited() is table and merged.document() is first
    assert asked == [(None, 200), (etag, 304)]

    # A service whose document changed (a new release): merged anew.
    merged = MergedOpenApi(lambda: {"openapi": "3.1.0", "paths": {}}, {"tickets": WsgiUpstream("tickets", tickets_app)})
    first = merged.document()
    merged._fetched["tickets"] = ("an-older-release", merged._fetched["tickets"][1])
    merged._expires = 0.0
    again = merged.document()
    assert again is not first and "/api/v1/tickets" in again["paths"]
