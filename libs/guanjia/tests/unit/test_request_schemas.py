"""A request body's schema is built once per process (not per request, as webargs would) and still loads each
request on its own: values never carry over, bad input is still a 422 naming the field."""

import marshmallow as ma

from guanjia.config import Settings
from guanjia.web import Blueprint, create_flask_app

SEEN = []  # the instances that loaded (kept alive: an id is never reused)


class Body(ma.Schema):
    name = ma.fields.String(required=True)
    count = ma.fields.Integer(load_default=1)

    @ma.post_load
    def _seen(self, data, **kwargs):
        SEEN.append(self)
        return data


def test_one_schema_instance_loads_every_request_on_its_own():
    app, api = create_flask_app(Settings(service="residents", database_url="sqlite://"), title="t")
    blp = Blueprint("things", __name__, url_prefix="/things")

    @blp.route("", methods=["POST"])
    @blp.arguments(Body)
    def post(data):
        return data

    api.register_blueprint(blp)
    client = app.test_client()
    first = client.post("/things", json={"name": "a", "count": 3}).json
    second = client.post("/things", json={"name": "b"}).json
    assert (first["name"], first["count"]) == ("a", 3)
    assert (second["name"], second["count"]) == ("b", 1)  # the default, not the first request's value
    assert len(SEEN) == 2 and SEEN[0] is SEEN[1]
    bad = client.post("/things", json={"count": "x"})
    assert bad.status_code == 422 and {"name", "count"} <= set(bad.json["errors"]), bad.json
