"""花名册导入: upload an XLSX/CSV roster → the dry run's row errors as a table → confirm; the template with Chinese
headers; the community's roster export. The import itself (and every check) is the residents API's."""

from __future__ import annotations

import base64
import binascii
import io
from urllib.parse import urlencode

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _
from urllib3 import encode_multipart_formdata

from .. import client
from .forms import communities, q

bp = Blueprint("roster", __name__, url_prefix="/roster")

KINDS = ("residents", "units", "buildings")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The sheets the import reads (by these names) and their columns, with the Chinese headers it accepts.
TEMPLATE = {
    "buildings": ["楼栋名称", "片区"],
    "units": ["楼栋", "房号", "楼层", "房屋类型", "建筑面积", "套内面积"],
    "residents": ["楼栋", "房屋", "姓名", "手机号", "身份", "身份证号", "标签", "备注"],
}
# Kept in the confirm form between the dry run and the import: rosters are small; larger ones are refused here.
MAX_BYTES = 5 * 1024 * 1024


def _page(**context):
    context.setdefault("errors", {})
    context.setdefault("values", {})
    found = communities()
    options = [(c["id"], c["name"]) for c in found]
    return render_template("roster.html", communities=found, community_options=options, kinds=KINDS, **context)


@bp.get("")
def index():
    return _page()


def _import(community_id: str, content: bytes, filename: str, kind: str, dry_run: bool):
    params = {"community_id": community_id, "dry_run": "true" if dry_run else "false"}
    if kind and not content.startswith(b"PK"):
        params["kind"] = kind
    body, content_type = encode_multipart_formdata(
        {"file": (filename or "roster", content, "application/octet-stream")}
    )
    return client.decode(
        client.raw("POST", "/api/v1/imports?" + urlencode(params), body=body, content_type=content_type)
    )


@bp.post("")
def upload():
    """Dry run of the uploaded file (nothing written); its row errors as a table, or the counts and a confirm button."""
    values = {"community_id": request.form.get("community_id", ""), "kind": request.form.get("kind", "")}
    upload = request.files.get("file")
    content = upload.read(MAX_BYTES + 1) if upload else b""
    if not content:
        return _page(values=values, errors={"file": _("Choose the roster file.")}), 422
    if len(content) > MAX_BYTES:
        return _page(values=values, errors={"file": _("The file is larger than 5 MB.")}), 422
    try:
        result = _import(values["community_id"], content, upload.filename, values["kind"], dry_run=True)
    except client.ApiError as exc:
        if isinstance(exc, client.Unavailable):
            raise
        return _page(values=values, errors=exc.field_errors or {"_": exc.message}), 422
    return _page(
        values=values,
        result=result,
        filename=upload.filename,
        payload=base64.b64encode(content).decode() if result.get("valid") else "",
    )


@bp.post("/confirm")
def confirm():
    """The real import of the file the dry run accepted (all or nothing: the API refuses it whole on any error)."""
    values = {"community_id": request.form.get("community_id", ""), "kind": request.form.get("kind", "")}
    try:
        content = base64.b64decode(request.form.get("payload", ""), validate=True)
    except (binascii.Error, ValueError):
        content = b""
    if not content or len(content) > MAX_BYTES:
        return _page(values=values, errors={"file": _("Upload the file again.")}), 422
    try:
        result = _import(values["community_id"], content, request.form.get("filename", ""), values["kind"], False)
    except client.ApiError as exc:
        if isinstance(exc, client.Unavailable):
            raise
        rows = (exc.problem or {}).get("rows")
        result = {"valid": False, "errors": rows or [], "dry_run": False}
        return _page(values=values, result=result, errors={} if rows else {"_": exc.message}), 422
    return _page(values=values, result=result, imported=True)


@bp.get("/template.xlsx")
def template():
    """An empty roster with the Chinese headers the import reads, one sheet per kind."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for sheet, headers in TEMPLATE.items():
        workbook.create_sheet(sheet).append(headers)
    out = io.BytesIO()
    workbook.save(out)
    return Response(
        out.getvalue(),
        mimetype=XLSX_TYPE,
        headers={"Content-Disposition": 'attachment; filename="roster-template.xlsx"'},
    )


@bp.get("/export/<community_id>.xlsx")
def export(community_id):
    """The community's roster as the API exports it (masked as for this person)."""
    answer = client.raw("GET", f"/api/v1/communities/{q(community_id)}/roster.xlsx")
    if answer.status != 200:
        client.decode(answer)  # raises the API's error (404 for a community not theirs)
    return Response(
        answer.body, mimetype=XLSX_TYPE, headers={"Content-Disposition": 'attachment; filename="roster.xlsx"'}
    )
