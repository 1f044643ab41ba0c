"""HTTP API of the roster import (CSV, XLSX)."""

from __future__ import annotations

from flask import request, send_file

from guanjia import web
from guanjia.errors import Invalid
from guanjia.web import Blueprint

from ..domain import roster
from ..schemas.imports import ImportArgs, ImportOut

imports = Blueprint("imports", __name__, url_prefix="/api/v1/imports", description="Roster import (CSV, XLSX)")


IMPORT_MAX_BYTES = 32 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMPORT_BODY = {
    "required": True,
    "description": "the roster: a multipart upload (field `file`), or the file itself as the body",
    "content": {
        "multipart/form-data": {
            "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}},
        },
        XLSX: {"schema": {"type": "string", "format": "binary"}},
        "text/csv": {"schema": {"type": "string"}},
    },
}


@imports.route("/template.xlsx", methods=["GET"])
@imports.response(200, {"type": "string", "format": "binary"}, content_type=roster.XLSX_TYPE)
def import_template():
    """An empty roster to fill in: sheets 楼栋, 房屋, 住户 with the headers the import reads, and 说明 (managers)."""
    roster.require_importer(web.principal())
    return send_file(
        roster.as_file(roster.template_xlsx(web.settings())),
        mimetype=roster.XLSX_TYPE,
        as_attachment=True,
        download_name="roster-template.xlsx",
    )


@imports.route("", methods=["POST"])
@imports.arguments(ImportArgs, location="query")
@imports.doc(requestBody=IMPORT_BODY)
@imports.response(200, ImportOut)
def run_import(args):
    """Import a roster: multipart `file` (or the raw body), XLSX with sheets buildings/units/residents, or a CSV
    with `kind`. dry_run=true lists row errors without writing; a real import is all-or-nothing."""
    # A 20,000-unit roster is a few MB: this route alone may exceed the instance's ordinary body limit.
    request.max_content_length = IMPORT_MAX_BYTES
    upload = request.files.get("file")
    content = upload.read() if upload else request.get_data()
    if not content:
        raise Invalid("file", "required (multipart field `file`, or the body)")
    if content[:2] == b"PK":
        sheets = roster.read_xlsx(content)
    else:
        if not args.get("kind"):
            raise Invalid("kind", "required for a CSV file")
        sheets = roster.read_csv(content, args["kind"])
    with web.database().transaction() as session:
        result = roster.run_import(
            session, web.settings(), web.principal(), args["community_id"], sheets, args["dry_run"], web.now()
        )
    if not args["dry_run"]:
        with web.database().transaction() as session:
            roster.refresh_statistics(session, result)
    return result
