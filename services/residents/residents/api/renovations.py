"""HTTP API of renovation control (装修管理): load → call domain → dump."""

from __future__ import annotations

from urllib.parse import quote

from flask import current_app

from guanjia import uploads, web
from guanjia.display import annotate
from guanjia.errors import UpstreamUnavailable
from guanjia.pii import mask_phone
from guanjia.web import Blueprint

from ..domain import display, photos, renovations
from ..domain.common import iso
from ..schemas.common import PhotoOut
from ..schemas.renovations import (
    Acceptance,
    InspectionCreate,
    InspectionOut,
    PermitIssue,
    Reinspection,
    Reject,
    RenovationCreate,
    RenovationListArgs,
    RenovationOut,
    RenovationPage,
    Review,
    ViolationOut,
)
from . import photos as photo_routes

renovation = Blueprint(
    "renovations", __name__, url_prefix="/api/v1/renovations", description="Renovation control (装修管理)"
)


def _renovations(session, result):
    applicant = display.residents(session, web.principal(), "applicant_id", "applicant_name")
    return annotate(result, [display.units(session), applicant])


def _renovation_view(r) -> dict:
    permit = None
    if r.permit_number:
        permit = {
            "number": r.permit_number,
            "working_hours": r.permit_hours,
            "valid_from": r.planned_start.isoformat(),
            "valid_to": r.planned_end.isoformat(),
        }
    contractor = {**r.contractor, "phone": mask_phone(r.contractor.get("phone"))}
    workers = [{**w, "phone": mask_phone(w.get("phone"))} for w in r.workers]
    waiver = None
    if r.deposit_waived_at:
        waiver = {"by": r.deposit_waived_by, "at": iso(r.deposit_waived_at), "reason": r.deposit_waiver_reason}
    return {
        **{c: getattr(r, c) for c in RenovationOut().fields if hasattr(r, c)},
        "contractor": contractor,
        "workers": workers,
        "permit": permit,
        "deposit_waiver": waiver,
        "history": renovations.history(r),
    }


@renovation.route("", methods=["POST"])
@renovation.arguments(RenovationCreate)
@renovation.response(201, RenovationOut)
def apply_renovation(data):
    """An owner's application: contractor, workers, scope items (structural flagged), planned dates."""
    with web.database().transaction() as session:
        return _renovations(
            session, _renovation_view(renovations.apply(session, web.settings(), web.principal(), data, web.now()))
        )


@renovation.route("", methods=["GET"])
@renovation.arguments(RenovationListArgs, location="query")
@renovation.response(200, RenovationPage)
def list_renovations(args):
    query = renovations.list_renovations(web.principal(), args)
    with web.database().transaction() as session:
        page = web.paginate(session, query, args["page"], args["page_size"])
        page["items"] = _renovations(session, [_renovation_view(r) for r in page["items"]])
    return page


@renovation.route("/<renovation_id>", methods=["GET"])
@renovation.response(200, RenovationOut)
def get_renovation(renovation_id):
    with web.database().transaction() as session:
        return _renovations(session, _renovation_view(renovations.get(session, web.principal(), renovation_id)))


@renovation.route("/<renovation_id>/review", methods=["POST"])
@renovation.arguments(Review)
@renovation.response(200, RenovationOut)
def review_renovation(data, renovation_id):
    """Engineering's review of the plan (engineer, or a manager)."""
    with web.database().transaction() as session:
        return _renovations(
            session, _renovation_view(renovations.review(session, web.principal(), renovation_id, data, web.now()))
        )


@renovation.route("/<renovation_id>/approve", methods=["POST"])
@renovation.doc(**web.audit_doc("renovation.approved", "renovation"))
@renovation.response(200, RenovationOut)
def approve_renovation(renovation_id):
    """The manager's approval. Publishes renovation.approved (billing bills the deposit); the permit follows."""
    with web.database().transaction() as session:
        return _renovations(
            session,
            _renovation_view(renovations.approve(session, web.settings(), web.principal(), renovation_id, web.now())),
        )


def _deposit_of(community_id: str, renovation_id: str) -> dict | None:
    """Billing's answer on the deposit, with this service's credential; unreachable → UpstreamUnavailable (503)."""
    billing = current_app.extensions["residents.billing"]
    path = f"/api/v1/internal/renovations/{quote(renovation_id, safe='')}/deposit"
    try:
        return billing.get_found(f"{path}?community_id={quote(community_id, safe='')}")
    except UpstreamUnavailable:
        # Whatever the transport said (refused, timed out, an error answer): no permit on a guess; retry later.
        raise UpstreamUnavailable(
            "billing cannot say whether the renovation deposit is paid; try again shortly"
        ) from None


@renovation.route("/<renovation_id>/permit", methods=["POST"])
@renovation.arguments(PermitIssue)
@renovation.response(200, RenovationOut)
def issue_permit(data, renovation_id):
    """The permit (managers), once billing says the deposit is paid — unless the community does not require that,
    or the manager waives it with `waive_deposit_reason` (recorded in the renovation's history). Unpaid → 409
    naming the bill and the amount outstanding; billing unreachable → 503 and no permit."""
    with web.database().transaction() as session:
        return _renovation_view(
            renovations.issue_permit(session, web.principal(), renovation_id, data, web.now(), _deposit_of)
        )


@renovation.route("/<renovation_id>/reject", methods=["POST"])
@renovation.arguments(Reject)
@renovation.response(200, RenovationOut)
def reject_renovation(data, renovation_id):
    with web.database().transaction() as session:
        return _renovations(
            session,
            _renovation_view(renovations.reject(session, web.principal(), renovation_id, data["reason"], web.now())),
        )


@renovation.route("/<renovation_id>/inspections", methods=["POST"])
@renovation.arguments(InspectionCreate)
@renovation.response(201, InspectionOut)
def inspect_renovation(data, renovation_id):
    """A site inspection; a violation in it is published as renovation.violation."""
    with web.database().transaction() as session:
        inspection, violation = renovations.inspect(
            session, web.settings(), web.principal(), renovation_id, data, web.now()
        )
        return _inspections(session, [_inspection_view(inspection, [violation] if violation else [])])[0]


@renovation.route("/<renovation_id>/inspections", methods=["GET"])
@renovation.response(200, InspectionOut(many=True))
def list_inspections(renovation_id):
    with web.database().transaction() as session:
        found = renovations.inspections(session, web.principal(), renovation_id)
        return _inspections(session, [_inspection_view(i, v) for i, v in found])


def _inspections(session, rows: list[dict]) -> list[dict]:
    rows = photo_routes.with_photos(session, photos.INSPECTION, rows)
    return annotate(rows, [_inspector()], {"photos": [photo_routes.uploader()]})


def _inspector():
    return display.staff("inspector_id", "inspector_name")


def _inspection_check(renovation_id, inspection_id):
    return lambda session: photos.inspection_of(session, web.principal(), renovation_id, inspection_id)


@renovation.route("/<renovation_id>/inspections/<inspection_id>/photos", methods=["POST"])
@renovation.response(201, PhotoOut)
@renovation.doc(**uploads.multipart_doc())
def add_inspection_photo(renovation_id, inspection_id):
    """A photo of the site (JPEG, PNG, WebP; multipart field `file`, up to GUANJIA_MAX_UPLOAD_BYTES); the type is
    proven by the file's content. Those who inspect only (integrators and the household 403)."""
    return photo_routes.add(photos.INSPECTION, inspection_id, _inspection_check(renovation_id, inspection_id))


@renovation.route("/<renovation_id>/inspections/<inspection_id>/photos/<photo_id>/content", methods=["GET"])
@renovation.response(200, description="the photo, as a download")
def inspection_photo_content(renovation_id, inspection_id, photo_id):
    check = _inspection_check(renovation_id, inspection_id)
    return photo_routes.content(photos.INSPECTION, inspection_id, photo_id, check)


def _inspection_view(inspection, violations) -> dict:
    return {
        **{
            c: getattr(inspection, c)
            for c in InspectionOut().fields
            if c not in ("violations", "photos") and hasattr(inspection, c)
        },
        "violations": violations,
    }


@renovation.route("/<renovation_id>/violations/<violation_id>/reinspection", methods=["POST"])
@renovation.arguments(Reinspection)
@renovation.response(200, ViolationOut)
def reinspect(data, renovation_id, violation_id):
    with web.database().transaction() as session:
        return renovations.reinspect(session, web.principal(), renovation_id, violation_id, data, web.now())


@renovation.route("/<renovation_id>/acceptance", methods=["POST"])
@renovation.arguments(Acceptance)
@renovation.response(200, RenovationOut)
def accept_renovation(data, renovation_id):
    """验收: passed → renovation.completed; failed → stays open, or with close=true ends as failed."""
    with web.database().transaction() as session:
        renovation_ = renovations.accept(session, web.settings(), web.principal(), renovation_id, data, web.now())
        return _renovations(session, _renovation_view(renovation_))
