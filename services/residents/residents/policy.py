"""Need-to-know table of the residents service: who may read and change which resource, and why.

Enforced for every request by guanjia.access (403 before the view runs); the object-level scope (community,
zone, household from move-in to move-out) is the domain's. docs/security.md embeds this table; the access matrix
tests are generated from it.
"""

from __future__ import annotations

from guanjia.access import Policy, Resource

R, B, SB, CM, E, F, IG = "resident", "butler", "senior_butler", "cs_manager", "engineer", "finance", "integrator"
FRONT_DESK = (B, SB, CM)
MANAGERS = (SB, CM)
NOTES = ("notes", "findings", "review_notes", "acceptance_notes", "reinspection_notes", "comment")

C, Z, BL, U, RS, RN = (
    "/api/v1/communities",
    "/api/v1/zones",
    "/api/v1/buildings",
    "/api/v1/units",
    "/api/v1/residents",
    "/api/v1/renovations",
)

RESOURCES = [
    Resource(
        "communities, zones, buildings",
        (C, f"{C}/<community_id>", Z, f"{Z}/<zone_id>", BL, f"{BL}/<building_id>"),
        read=(R, B, SB, CM, E, F, IG),
        write=MANAGERS,
        why="everyone works inside a community's structure; managers shape zones and buildings",
    ),
    Resource(
        "units",
        (U, f"{U}/<unit_id>", f"{U}/<unit_id>/status-history"),
        read=(R, B, SB, CM, E, F, IG),
        write=MANAGERS,
        why="engineers go to the unit, finance bills it by area; residents see their own unit",
    ),
    Resource(
        "move-in, move-out, handover",
        (f"{U}/<unit_id>/handover", f"{U}/<unit_id>/move-in", f"{U}/<unit_id>/move-out"),
        read=(),
        write=FRONT_DESK,
        why="the front desk records who lives where",
    ),
    Resource(
        "residents",
        (RS, f"{RS}/<resident_id>"),
        read=(R, B, SB, CM, IG),
        write=(R, B, SB, CM),
        why="the front desk serves households; a resident sees their own household (and keeps their emergency "
        "contact and SMS opt-out); engineers and finance work from tickets and bills, not the roster",
        notes=NOTES,
    ),
    Resource(
        "personal data in clear",
        (f"{RS}/<resident_id>/personal-data",),
        read=FRONT_DESK,
        write=(),
        why="the butler who calls or visits the household; every view is recorded",
    ),
    Resource(
        "disclosures",
        (f"{RS}/<resident_id>/disclosures",),
        read=MANAGERS,
        write=(),
        why="managers check who saw personal data",
    ),
    Resource(
        "resident cards",
        (
            f"{RS}/<resident_id>/cards",
            f"{RS}/<resident_id>/cards/<card_id>/report-lost",
            f"{RS}/<resident_id>/cards/<card_id>/revoke",
        ),
        read=(R, B, SB, CM, IG),
        write=(R, B, SB, CM),
        why="access control (an integrator) needs the cards; a resident reports their own card lost",
    ),
    Resource(
        "contact log",
        (f"{RS}/<resident_id>/contacts",),
        read=FRONT_DESK,
        write=FRONT_DESK,
        why="the staff's working notes about a household: not the resident's, not an integrator's",
    ),
    Resource(
        "moving appointments",
        (f"{U}/<unit_id>/moving-appointments", f"{U}/moving-appointments"),
        read=(R, B, SB, CM, IG),
        write=FRONT_DESK,
        why="the front desk books the lift and the gate; the household sees its own stay's bookings",
        notes=NOTES,
    ),
    Resource(
        "release passes",
        (f"{U}/<unit_id>/passes", f"{U}/<unit_id>/passes/<pass_id>/use"),
        read=(R, B, SB, CM, IG),
        write=(R, B, SB, CM),
        why="the household asks for a pass, the gate (front desk, or an integrator's gate system) checks it",
    ),
    Resource(
        "keys in custody",
        (f"{U}/<unit_id>/keys", f"{U}/<unit_id>/keys/<key_id>/lend", f"{U}/<unit_id>/keys/<key_id>/return"),
        read=(R, B, SB, CM),
        write=FRONT_DESK,
        why="keys and their authorised collectors are the front desk's and the household's only",
        notes=NOTES,
    ),
    Resource(
        "vacancy checks",
        (f"{U}/<unit_id>/vacancy-checks",),
        read=FRONT_DESK,
        write=FRONT_DESK,
        why="checks of an empty unit by the front desk",
        notes=NOTES,
    ),
    Resource(
        "photos of vacancy checks",
        (
            f"{U}/<unit_id>/vacancy-checks/<check_id>/photos",
            f"{U}/<unit_id>/vacancy-checks/<check_id>/photos/<photo_id>/content",
        ),
        read=FRONT_DESK,
        write=FRONT_DESK,
        why="what the front desk saw inside an empty unit",
    ),
    Resource(
        "front-desk follow-up lists",
        (
            f"{Z}/<zone_id>/vacant-units",
            f"{Z}/<zone_id>/familiarity",
            f"{C}/<community_id>/familiarity",
            f"{Z}/<zone_id>/unreached",
            f"{C}/<community_id>/overdue-keys",
        ),
        read=FRONT_DESK,
        write=(),
        why="the butlers' and managers' own work lists",
    ),
    Resource(
        "roster import and export",
        (f"{C}/<community_id>/roster.xlsx", "/api/v1/imports", "/api/v1/imports/template.xlsx"),
        read=MANAGERS,
        write=MANAGERS,
        why="the whole roster with personal data: managers only",
    ),
    Resource(
        "record corrections",
        (f"{RS}/<resident_id>/removal", f"{RS}/<resident_id>/merge", f"{RS}/<resident_id>/corrections"),
        read=MANAGERS,
        write=MANAGERS,
        why="removing or merging a wrongly registered record changes the roster: managers, with a reason on record",
    ),
    Resource(
        "notes on a record",
        (f"{RS}/<resident_id>/notes",),
        read=(),
        write=FRONT_DESK,
        why="the front desk adds a dated note, also to a moved-out record",
        notes=NOTES,
    ),
    Resource(
        "renovations",
        (
            RN,
            f"{RN}/<renovation_id>",
            f"{RN}/<renovation_id>/review",
            f"{RN}/<renovation_id>/approve",
            f"{RN}/<renovation_id>/permit",
            f"{RN}/<renovation_id>/reject",
            f"{RN}/<renovation_id>/inspections",
            f"{RN}/<renovation_id>/violations/<violation_id>/reinspection",
            f"{RN}/<renovation_id>/acceptance",
        ),
        read=(R, B, SB, CM, E, IG),
        write=(R, B, SB, CM, E),
        why="the household applies, engineering reviews and inspects, managers approve and issue the permit",
        notes=NOTES,
    ),
    Resource(
        "renovation violation counts",
        (f"{C}/<community_id>/renovation-violations",),
        read=(B, SB, CM, E),
        write=(),
        why="counts per zone and month for the inspectors and the managers' dashboard; no household named",
    ),
    Resource(
        "photos of renovation inspections",
        (
            f"{RN}/<renovation_id>/inspections/<inspection_id>/photos",
            f"{RN}/<renovation_id>/inspections/<inspection_id>/photos/<photo_id>/content",
        ),
        read=(B, SB, CM, E),
        write=(B, SB, CM, E),
        why="evidence of the site for those who inspect it; the household and integrators read the inspection's "
        "facts, not the pictures (people and their homes may be on them)",
    ),
]


def policy() -> Policy:
    return Policy("residents", RESOURCES, service_only=("/api/v1/internal",))
