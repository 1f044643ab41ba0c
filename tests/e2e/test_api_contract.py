"""The merged OpenAPI document is a contract a generator can trust: valid, errors as problem+json, stable ids."""

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from .conftest import ADMIN_PASSWORD, Client

ERRORS = ("400", "401", "403", "404", "409", "413", "422", "429")


@pytest.fixture(scope="module")
def document(embedded_stack):
    admin = Client(embedded_stack.url).login("admin", ADMIN_PASSWORD)
    response = admin.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def test_the_merged_document_is_valid_openapi(document):
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in OpenAPIV31SpecValidator(document).iter_errors()]
    assert errors == []


def test_every_operation_has_a_stable_unique_operation_id(document):
    ids = [operation.get("operationId") for _, _, operation in operations(document)]
    assert None not in ids and len(ids) == len(set(ids)) and len(ids) > 100
    found = {(path, method): op["operationId"] for path, method, op in operations(document)}
    assert found[("/api/v1/tickets", "get")] == "tickets_list_tickets"
    assert found[("/api/v1/payments/{payment_id}/reversal", "post")] == "billing_payments_reverse_payment"


def test_every_error_is_documented_as_problem_json(document):
    responses = document["components"]["responses"]
    for path, method, operation in operations(document):
        for status in ERRORS:
            answer = operation["responses"][status]
            content = responses[answer["$ref"].rsplit("/", 1)[1]]["content"] if "$ref" in answer else answer["content"]
            assert list(content) == ["application/problem+json"], (method, path, status)
            assert content["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert "Error" not in document["components"]["schemas"]  # flask-smorest's {code, status, message}


def test_request_bodies_security_schemes_enums_and_examples(document):
    paths = document["paths"]
    assert "multipart/form-data" in paths["/api/v1/imports"]["post"]["requestBody"]["content"]
    scheme = document["components"]["securitySchemes"]["integratorKey"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "X-API-Key")
    assert {"integratorKey": []} in paths["/api/v1/billing/bills"]["get"]["security"]
    ticket = document["components"]["schemas"]["TicketOut"]["properties"]
    assert "in_progress" in ticket["status"]["enum"] and "repair" in ticket["category"]["enum"]
    create = paths["/api/v1/tickets"]["post"]["requestBody"]["content"]["application/json"]
    assert create["example"]["category"] == "repair"
    # Decimal bounds are numbers (they were strings like "0.000": invalid OpenAPI).
    bounds = [
        value
        for schema in document["components"]["schemas"].values()
        for prop in (schema.get("properties") or {}).values()
        for key, value in prop.items()
        if key in ("minimum", "maximum")
    ]
    assert bounds and all(isinstance(value, int | float) for value in bounds)
