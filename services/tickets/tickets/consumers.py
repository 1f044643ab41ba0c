"""Events the tickets service handles: the handler functions and the one HANDLERS dict."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanjia.db import parse_time

from .domain import projections, tickets
from .domain.common import CATEGORIES
from .models import Ticket, Unit
from .payloads import (
    Absence,
    MeetingIssueRaised,
    RenovationViolation,
    ResidentChanged,
    ResidentMoved,
    SurveyLowScore,
    UnitChanged,
    ZoneUpdated,
)


def on_unit_changed(context, session: Session, event: dict) -> None:
    data = UnitChanged().load(event["data"])
    projections.upsert_unit(session, data, parse_time(event["time"]))


def on_zone_updated(context, session: Session, event: dict) -> None:
    data = ZoneUpdated().load(event["data"])
    projections.upsert_zone(session, data, parse_time(event["time"]))


def on_resident_changed(context, session: Session, event: dict) -> None:
    projections.upsert_resident(session, ResidentChanged().load(event["data"]), parse_time(event["time"]))


def on_resident_moved_in(context, session: Session, event: dict) -> None:
    data = {**ResidentMoved().load(event["data"]), "status": "moved_in"}
    projections.upsert_resident(session, data, parse_time(event["time"]))


def on_resident_moved_out(context, session: Session, event: dict) -> None:
    data = {**ResidentMoved().load(event["data"]), "status": "moved_out"}
    projections.upsert_resident(session, data, parse_time(event["time"]))


def on_absence_started(context, session: Session, event: dict) -> None:
    projections.upsert_absence(session, Absence().load(event["data"]))


def on_absence_ended(context, session: Session, event: dict) -> None:
    projections.upsert_absence(session, Absence().load(event["data"]), ended_at=parse_time(event["time"]))


VIOLATION_LABELS = {
    "unapproved_structural_change": "擅自改动结构",
    "outside_permitted_hours": "非许可时间施工",
    "debris": "装修垃圾未清运",
    "fire_safety": "消防安全隐患",
    "noise": "装修噪音",
    "other": "其他违规",
}


def _system_ticket(context, session: Session, actor: str, data: dict, **fields):
    """A ticket the system opens for a unit's household (routed to the unit's zone, else to `data`'s zone)."""
    unit = session.get(Unit, data["unit_id"]) if data.get("unit_id") else None
    return tickets.open_ticket(
        session,
        context.settings,
        actor=actor,
        now=context.clock(),
        community_id=data["community_id"],
        zone_id=unit.zone_id if unit is not None else data.get("zone_id"),
        unit_id=data.get("unit_id"),
        reporter_id=None,
        **fields,
    )


def on_renovation_violation(context, session: Session, event: dict) -> None:
    """A renovation violation becomes a rectification ticket for the zone's butler (exactly one per violation)."""
    data = RenovationViolation().load(event["data"])
    if session.execute(select(Ticket.id).where(Ticket.violation_id == data["violation_id"])).first():
        return
    ticket = _system_ticket(
        context,
        session,
        "system:renovation",
        {**data, "zone_id": None},
        location="in_unit",
        category="service_request",
        subcategory="renovation_rectification",
        priority="high" if data["severity"] == "serious" else "normal",
        channel="patrol",
        # Facts only; the inspection record with its photos stays in residents.
        description=f"装修违规整改：{VIOLATION_LABELS.get(data['category'], data['category'])}（违规记录 {data['violation_id']}）",
        violation_id=data["violation_id"],
    )
    if data.get("rectify_by"):
        ticket.resolution_due_at = parse_time(data["rectify_by"])


SERVICE_LINE_LABELS = {
    "customer_service": "客服",
    "maintenance": "工程维修",
    "security": "秩序安管",
    "cleaning": "环境保洁",
    "greening": "绿化",
    "overall": "总体",
}


def on_survey_low_score(context, session: Session, event: dict) -> None:
    """A low satisfaction score becomes a follow-up complaint for the household (or its zone, when anonymous): the
    butler calls back. The inbox applies each event once; the answer id in the text links it to the survey."""
    data = SurveyLowScore().load(event["data"])
    line = SERVICE_LINE_LABELS.get(data["service_line"], data["service_line"])
    _system_ticket(
        context,
        session,
        "system:survey",
        data,
        location="in_unit" if data["unit_id"] else "public_area",
        category="complaint",
        subcategory="survey_follow_up",
        priority="normal",
        channel="survey",
        description=f"满意度调查低分回访：{line} {data['score']}/{data['scale_max']} 分（答卷 {data['answer_id']}）",
    )


MEETING_TOPIC_LABELS = {
    "lift": "电梯",
    "parking": "停车",
    "cleaning": "环境卫生",
    "greening": "绿化",
    "security": "秩序安全",
    "repairs": "维修",
    "fees": "收费",
    "noise": "噪音",
    "facilities": "公共设施",
    "other": "其他",
}


def on_meeting_issue_raised(context, session: Session, event: dict) -> None:
    """An issue raised at an owner meeting becomes a ticket for the household (or the zone, or the community's
    desk). Once per issue: the inbox applies each event once, and a second event naming the same issue (a replay
    under another id) finds the ticket by its text and changes nothing. The issue's words stay in community."""
    data = MeetingIssueRaised().load(event["data"])
    description = (
        f"业主见面会议题：{MEETING_TOPIC_LABELS.get(data['topic'], data['topic'])}（议题 {data['issue_id']}，"
        f"详见社区活动记录）"
    )
    known = select(Ticket.id).where(Ticket.community_id == data["community_id"], Ticket.description == description)
    if session.execute(known).first():
        return
    _system_ticket(
        context,
        session,
        "system:meeting",
        data,
        location="in_unit" if data["unit_id"] else "public_area",
        category=data["category"] if data["category"] in CATEGORIES else "suggestion",
        subcategory=f"owner_meeting_{data['topic']}"[:50],
        priority="normal",
        channel="owner_meeting",
        description=description,
    )


# The payload schema of every consumed type (checked against the producers' documents in tests/contract).
SCHEMAS = {
    "unit.created": UnitChanged,
    "unit.updated": UnitChanged,
    "zone.updated": ZoneUpdated,
    "resident.registered": ResidentChanged,
    "resident.updated": ResidentChanged,
    "resident.moved_in": ResidentMoved,
    "resident.moved_out": ResidentMoved,
    "renovation.violation": RenovationViolation,
    "staff.absence_started": Absence,
    "staff.absence_ended": Absence,
    "survey.low_score": SurveyLowScore,
    "meeting.issue_raised": MeetingIssueRaised,
}

HANDLERS = {
    "unit.created": on_unit_changed,
    "unit.updated": on_unit_changed,
    "zone.updated": on_zone_updated,
    "resident.registered": on_resident_changed,
    "resident.updated": on_resident_changed,
    "resident.moved_in": on_resident_moved_in,
    "resident.moved_out": on_resident_moved_out,
    "renovation.violation": on_renovation_violation,
    "staff.absence_started": on_absence_started,
    "staff.absence_ended": on_absence_ended,
    "survey.low_score": on_survey_low_score,
    "meeting.issue_raised": on_meeting_issue_raised,
}
