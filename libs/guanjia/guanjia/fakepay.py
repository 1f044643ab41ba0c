"""A local fake payment provider for the demo and the tests: a real HTTP server with an order API, a checkout page
the resident's browser is sent to, and a callback to billing signed exactly like a real provider's (HMAC-SHA256 hex
of the raw body in X-Guanjia-Signature, with the secret billing verifies: GUANJIA_BILLING_CALLBACK_SECRET).

    provider = FakePaymentProvider(notify_url="http://127.0.0.1:8000/api/v1/payments/callback", secret=...).start()
    ...  # GUANJIA_PAYMENT_PROVIDER_URL=provider.url for the workbench
    provider.stop()
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import secrets
import threading
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

SIGNATURE_HEADER = "X-Guanjia-Signature"
NAME = "fakepay"
METHODS = ("wechat", "alipay")
ORDER_FIELDS = ("amount", "description", "community_id", "unit_id", "return_url")


def sign(secret: str, body: bytes) -> str:
    """What a provider puts in X-Guanjia-Signature: hex HMAC-SHA256 of the raw body (billing.callbacks checks it)."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class FakePaymentProvider:
    """Orders live in memory; `callbacks` keeps every (status, body) billing answered, for the tests to read."""

    def __init__(self, notify_url: str, secret: str, host: str = "127.0.0.1", port: int = 0):
        self.notify_url, self.secret = notify_url, secret
        self.host, self.port = host, port
        self.orders: dict[str, dict] = {}
        self.callbacks: list[tuple[int, dict]] = []
        self.server = None
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.server.server_port if self.server else self.port}"

    def start(self) -> FakePaymentProvider:
        self.server = make_server(self.host, self.port, self.wsgi, threaded=True)
        threading.Thread(target=self.server.serve_forever, name="fakepay", daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    # ---------------------------------------------------------------- HTTP

    def wsgi(self, environ, start_response):
        request = Request(environ)
        parts = [p for p in request.path.split("/") if p]
        if request.method == "POST" and parts == ["orders"]:
            response = self._create(request)
        elif request.method == "GET" and len(parts) == 2 and parts[0] == "checkout":
            response = self._checkout(parts[1])
        elif request.method == "POST" and len(parts) == 3 and parts[0] == "checkout" and parts[2] == "pay":
            response = self._pay(parts[1], request.form.get("method", "wechat"))
        elif request.method == "GET" and parts == ["favicon.ico"]:
            response = Response(status=204)  # what a browser asks of every page's host, answered quietly
        else:
            response = Response("not found", status=404)
        return response(environ, start_response)

    def _create(self, request) -> Response:
        """The merchant (the workbench, server to server) opens an order; the answer names the checkout page."""
        body = request.get_json(silent=True) or {}
        missing = [name for name in ORDER_FIELDS if not body.get(name)]
        if missing or not _http_url(body.get("return_url", "")):
            return Response(json.dumps({"missing": missing}), status=422, content_type="application/json")
        order_id = f"FP{secrets.token_hex(8).upper()}"
        order = {key: body.get(key) for key in (*ORDER_FIELDS, "bill_ids", "payer_id")}
        order.update(id=order_id, status="open")
        with self.lock:
            self.orders[order_id] = order
        answer = {"id": order_id, "checkout_url": f"{self.url}/checkout/{order_id}"}
        return Response(json.dumps(answer), status=201, content_type="application/json")

    def _checkout(self, order_id: str) -> Response:
        order = self.orders.get(order_id)
        if order is None:
            return Response("no such order", status=404)
        options = "".join(f'<option value="{m}">{m}</option>' for m in METHODS)
        page = (
            '<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>fakepay</title><h1>收银台 (fakepay)</h1><p id="fp-what">{html.escape(order["description"])}</p>'
            f'<p>¥<span id="fp-amount">{html.escape(order["amount"])}</span></p>'
            f'<form method="post" action="/checkout/{order_id}/pay" id="fp-form">'
            f'<select name="method">{options}</select> <button type="submit">确认支付</button></form>'
        )
        return Response(page, content_type="text/html; charset=utf-8")

    def _pay(self, order_id: str, method: str) -> Response:
        """The payer confirms: the signed callback goes to billing, then the browser back to the merchant."""
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                return Response("no such order", status=404)
        body = {
            "provider": NAME,
            "reference": order_id,
            "community_id": order["community_id"],
            "unit_id": order["unit_id"],
            "amount": order["amount"],
            "method": method if method in METHODS else "wechat",
            "paid_at": datetime.now(UTC).isoformat(),
        }
        if order.get("bill_ids"):
            body["bill_ids"] = order["bill_ids"]
        if order.get("payer_id"):
            body["payer_id"] = order["payer_id"]
        raw = json.dumps(body).encode()
        answer = requests.post(
            self.notify_url,
            data=raw,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(self.secret, raw)},
            timeout=15,
        )
        try:
            answered = answer.json()
        except ValueError:
            answered = {}
        self.callbacks.append((answer.status_code, answered))
        if answer.status_code != 200:
            return Response(f"the merchant refused the payment ({answer.status_code})", status=502)
        order["status"] = "paid"
        # Like a real provider, the way back names the order (the merchant finds the payment by its reference).
        back = order["return_url"] + ("&" if "?" in order["return_url"] else "?") + f"order={order_id}"
        return Response(status=303, headers={"Location": back})


def _http_url(url: str) -> bool:
    """A return address is an http(s) URL (the provider sends the payer back there)."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def main(argv=None) -> None:
    """`python -m guanjia.fakepay` for the demo: the provider on a port, signing with GUANJIA_BILLING_CALLBACK_SECRET."""
    import argparse
    import time

    from .config import secret

    parser = argparse.ArgumentParser(prog="python -m guanjia.fakepay", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--notify-url", default="http://127.0.0.1:8000/api/v1/payments/callback")
    args = parser.parse_args(argv)
    key = secret("GUANJIA_BILLING_CALLBACK_SECRET")
    if not key:
        parser.error("GUANJIA_BILLING_CALLBACK_SECRET must be set (the same value billing verifies with)")
    provider = FakePaymentProvider(args.notify_url, key, port=args.port).start()
    print(f"fakepay on {provider.url}: set GUANJIA_PAYMENT_PROVIDER_URL={provider.url} for the workbench", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        provider.stop()


if __name__ == "__main__":
    main()
