"""HTTP API of communities (小区): load → call domain → dump; no rules here."""

from __future__ import annotations

from flask import send_file

from guanjia import web
from guanjia.display import annotate
from guanjia.web import Blueprint

from ..domain import affairs, display, renovations, roster, structure
from ..schemas.communities import (
    CommunityCreate,
    CommunityListArgs,
    CommunityOut,
    CommunityPage,
    CommunityUpdate,
    FamiliarityArgs,
    OverdueArgs,
    OverdueKeyOut,
    ViolationCountArgs,
    ViolationCounts,
    ZoneFamiliarityList,
)

communities = Blueprint("communities", __name__, url_prefix="/api/v1/communities", description="Communities (小区)")


@communities.route("", methods=["POST"])
@communities.arguments(CommunityCreate)
@communities.response(201, CommunityOut)
def create_community(data):
    """Create a community (admin only); renovation_hours defaults to 08:00-12:00,14:00-18:00."""
    with web.database().transaction() as session:
        return structure.create_community(session, web.principal(), data, web.now())


@communities.route("", methods=["GET"])
@communities.arguments(CommunityListArgs, location="query")
@communities.response(200, CommunityPage)
def list_communities(args):
    """Communities the caller works in (all of them for admin and services)."""
    with web.database().transaction() as session:
        return web.paginate(session, structure.visible_communities(web.principal()), args["page"], args["page_size"])


@communities.route("/<community_id>", methods=["GET"])
@communities.response(200, CommunityOut)
def get_community(community_id):
    with web.database().transaction() as session:
        return structure.get_community(session, web.principal(), community_id)


@communities.route("/<community_id>", methods=["PATCH"])
@communities.arguments(CommunityUpdate)
@communities.response(200, CommunityOut)
def update_community(data, community_id):
    """Rename a community or change its permitted renovation hours (managers)."""
    with web.database().transaction() as session:
        return structure.update_community(session, web.principal(), community_id, data)


@communities.route("/<community_id>/roster.xlsx", methods=["GET"])
@communities.response(200, {"type": "string", "format": "binary"}, content_type=roster.XLSX_TYPE)
def export_roster(community_id):
    """The roster in the import's shape: sheets 楼栋, 房屋, 住户 with Chinese headers (managers; ID numbers masked)."""
    with web.database().transaction() as session:
        content = roster.export_xlsx(session, web.settings(), web.principal(), community_id)
    return send_file(
        roster.as_file(content), mimetype=roster.XLSX_TYPE, as_attachment=True, download_name="roster.xlsx"
    )


@communities.route("/<community_id>/overdue-keys", methods=["GET"])
@communities.arguments(OverdueArgs, location="query")
@communities.response(200, OverdueKeyOut(many=True))
def overdue_keys(args, community_id):
    """Keys lent out and not returned by their due time (a butler sees their zones)."""
    with web.database().transaction() as session:
        rows = affairs.overdue_keys(session, web.principal(), community_id, args.get("zone_id"), web.now())
        keys = [
            {
                "key_id": k.id,
                "unit_id": u.id,
                "unit_number": u.number,
                "zone_id": u.zone_id,
                "label": k.label,
                "loan": affairs.loan_view(web.principal(), loan),
            }
            for k, loan, u in rows
        ]
        return annotate(keys, [display.units(session), display.zones(session)])


@communities.route("/<community_id>/familiarity", methods=["GET"])
@communities.arguments(FamiliarityArgs, location="query")
@communities.response(200, ZoneFamiliarityList)
def familiarity(args, community_id):
    """Every zone's familiarity (households contacted) and effective communication in the last `days` days
    against the 95 % / 60 % targets, in one answer (a butler sees their zones)."""
    with web.database().transaction() as session:
        return {"items": affairs.community_familiarity(session, web.principal(), community_id, args["days"], web.now())}


@communities.route("/<community_id>/renovation-violations", methods=["GET"])
@communities.arguments(ViolationCountArgs, location="query")
@communities.response(200, ViolationCounts)
def renovation_violations(args, community_id):
    """Renovation violations of the last `months` months per zone and month: total, serious, still open."""
    with web.database().transaction() as session:
        return renovations.violation_counts(
            session, web.settings(), web.principal(), community_id, args["months"], web.now()
        )
