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


# The fields a client switches on: in a response they carry the domain's fixed set of values (issue 13).
ENUM_FIELDS = ("status", "kind", "category", "role", "method", "channel", "priority", "basis", "rounding")
ENUM_FIELDS += ("unit_type", "from_status", "to_status", "recipient_kind", "outcome", "scope", "severity")


def response_schemas(document):
    """The component schemas a successful response can carry, followed through nesting, lists and pages."""
    schemas, seen = document["components"]["schemas"], set()
    todo = [
        content["schema"]
        for _, _, operation in operations(document)
        for status, answer in operation["responses"].items()
        if status.startswith("2")
        for content in (answer.get("content") or {}).values()
        if "schema" in content
    ]
    while todo:
        node = todo.pop()
        if isinstance(node, list):
            todo.extend(node)
        elif isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/components/schemas/") and ref not in seen:
                seen.add(ref)
                todo.append(schemas[ref.rsplit("/", 1)[1]])
            todo.extend(value for key, value in node.items() if key != "$ref")
    return {ref.rsplit("/", 1)[1] for ref in seen}


def test_every_enumerated_response_field_has_an_enum(document):
    schemas = document["components"]["schemas"]
    names = response_schemas(document)
    assert {"TicketOut", "BillOut", "PaymentOut", "UnitOut", "ResidentOut", "NotificationOut", "UserOut"} <= names
    missing = sorted(
        f"{name}.{field}"
        for name in names
        for field, prop in (schemas[name].get("properties") or {}).items()
        if field in ENUM_FIELDS and "enum" not in prop and "$ref" not in prop
    )
    assert missing == []
    assert "reversed" in schemas["PaymentOut"]["properties"]["status"]["enum"]
    assert schemas["BillOut"]["properties"]["status"]["enum"] == ["open", "settled"]


def examples(document):
    """Every example in the document, with the schema it illustrates: request bodies and responses."""
    for path, method, operation in operations(document):
        bodies = [("request", (operation.get("requestBody") or {}).get("content") or {})]
        bodies += [(status, answer.get("content") or {}) for status, answer in operation["responses"].items()]
        for where, content in bodies:
            for media in content.values():
                if "example" in media and "schema" in media:
                    yield f"{method} {path} {where}", media["schema"], media["example"]


def test_every_example_validates_against_its_schema(document):
    import jsonschema

    found = {}
    for where, schema, example in examples(document):
        validator = jsonschema.Draft202012Validator({**schema, "components": document["components"]})
        found[where] = [error.message for error in validator.iter_errors(example)]
    assert {where: errors for where, errors in found.items() if errors} == {}
    # The main operations of each service show a request and a response.
    for where in (
        "post /api/v1/units request", "post /api/v1/units 201", "get /api/v1/units 200",
        "post /api/v1/residents request", "post /api/v1/residents 201", "get /api/v1/residents 200",
        "post /api/v1/tickets request", "post /api/v1/tickets 201", "get /api/v1/tickets 200",
        "post /api/v1/billing/bills request", "post /api/v1/billing/bills 201", "get /api/v1/billing/bills 200",
        "post /api/v1/payments request", "post /api/v1/payments 201", "get /api/v1/payments 200",
        "post /api/v1/notifications/notices request", "post /api/v1/notifications/notices 201",
        "get /api/v1/notifications/notices 200",
        "post /api/v1/users request", "post /api/v1/users 201", "get /api/v1/users 200",
    ):  # fmt: skip
        assert where in found, where
