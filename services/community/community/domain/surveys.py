"""Satisfaction surveys (满意度调查): build, open (freeze and draw the audience), answer, progress, remind the
households that have not answered, close, report."""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from guanjia.auth import Principal
from guanjia.db import insert_if_absent, new_id
from guanjia.errors import Conflict, Invalid, NotFound, ProblemError

from .. import events
from ..models import Survey, SurveyAnswer, SurveyHousehold, SurveyQuestion, SurveyReminder, Unit
from . import units
from .common import emit

SERVICE_LINES = ("customer_service", "maintenance", "security", "cleaning", "greening", "overall")
SERVICE_LINE_LABELS = {
    "customer_service": "客服",
    "maintenance": "工程维修",
    "security": "秩序安管",
    "cleaning": "环境保洁",
    "greening": "绿化",
    "overall": "总体",
}
KINDS = ("scale_5", "nps", "single", "multiple", "text")
KIND_LABELS = {"single": "单选", "multiple": "多选", "scale_5": "1–5 分", "nps": "0–10 推荐度", "text": "文字"}
STATUSES = ("draft", "open", "closed")
CHANNELS = ("mobile", "phone", "visit")
SCALE_MAX = {"scale_5": 5, "nps": 10}


def _questions(session: Session, survey_id: str) -> list[SurveyQuestion]:
    return list(
        session.execute(
            select(SurveyQuestion).where(SurveyQuestion.survey_id == survey_id).order_by(SurveyQuestion.position)
        ).scalars()
    )


def _check_questions(questions: list[dict]) -> None:
    if not questions:
        raise Invalid("questions", "a survey needs at least one question")
    for index, question in enumerate(questions):
        options = question.get("options") or []
        if question["kind"] in ("single", "multiple"):
            if len(options) < 2 or len(set(options)) != len(options):
                raise Invalid(f"questions.{index}.options", "a choice question needs two or more distinct options")
        elif options:
            raise Invalid(f"questions.{index}.options", "only choice questions have options")


def _set_questions(session: Session, survey: Survey, questions: list[dict]) -> None:
    for position, question in enumerate(questions, start=1):
        session.add(
            SurveyQuestion(
                id=new_id(),
                survey_id=survey.id,
                position=position,
                service_line=question["service_line"],
                kind=question["kind"],
                text=question["text"],
                options=json.dumps(question.get("options") or [], ensure_ascii=False),
                required=question.get("required", True),
            )
        )


def view(session: Session, survey: Survey) -> dict:
    """A survey with its questions, households drawn and answers received (what the API answers)."""
    households = session.execute(
        select(func.count()).select_from(SurveyHousehold).where(SurveyHousehold.survey_id == survey.id)
    ).scalar_one()
    answered = session.execute(
        select(func.count()).select_from(SurveyAnswer).where(SurveyAnswer.survey_id == survey.id)
    ).scalar_one()
    return {
        **{c.name: getattr(survey, c.name) for c in Survey.__table__.columns if c.name != "report"},
        "zone_ids": json.loads(survey.zone_ids),
        "building_ids": json.loads(survey.building_ids or "[]"),
        "questions": [
            {**{c.name: getattr(q, c.name) for c in SurveyQuestion.__table__.columns}, "options": json.loads(q.options)}
            for q in _questions(session, survey.id)
        ],
        "households": households,
        "answered": answered,
    }


def create(session: Session, principal: Principal, now: datetime, body: dict) -> Survey:
    if not principal.sees_community(body["community_id"]):
        raise NotFound("no such community")
    questions = body.pop("questions")
    _check_questions(questions)
    survey = Survey(
        id=new_id(),
        status="draft",
        created_by=principal.username or principal.subject,
        created_at=now,
        community_id=body["community_id"],
        title=body["title"],
        anonymous=body.get("anonymous", False),
        zone_ids=json.dumps(body.get("zone_ids") or []),
        building_ids=json.dumps(body.get("building_ids") or []),
        sample_size=body.get("sample_size"),
        seed=body.get("seed", 1),
        low_score=body.get("low_score", 2),
    )
    session.add(survey)
    session.flush()
    _set_questions(session, survey, questions)
    session.flush()
    return survey


def get(session: Session, principal: Principal, survey_id: str) -> Survey:
    """A survey the caller may see: staff of its community; a resident only an open or closed one they were
    asked to answer."""
    survey = session.get(Survey, survey_id)
    if survey is None or not principal.sees_community(survey.community_id):
        raise NotFound("no such survey")
    if principal.role == "resident" and not _asked(session, survey.id, principal.units):
        raise NotFound("no such survey")
    return survey


def _asked(session: Session, survey_id: str, unit_ids) -> bool:
    return bool(
        unit_ids
        and session.execute(
            select(SurveyHousehold.unit_id).where(
                SurveyHousehold.survey_id == survey_id, SurveyHousehold.unit_id.in_(list(unit_ids))
            )
        ).first()
    )


def list_query(principal: Principal, args: dict):
    if not principal.sees_community(args["community_id"]):
        raise NotFound("no such community")
    query = select(Survey).where(Survey.community_id == args["community_id"])
    if principal.role == "resident":
        asked = select(SurveyHousehold.survey_id).where(SurveyHousehold.unit_id.in_(list(principal.units)))
        query = query.where(Survey.id.in_(asked), Survey.status != "draft")
    if args.get("status"):
        query = query.where(Survey.status == args["status"])
    return query.order_by(Survey.created_at.desc(), Survey.id)


def replace(session: Session, principal: Principal, survey_id: str, body: dict) -> Survey:
    """Rewrite a draft; once opened, the questionnaire is frozen (answers refer to it)."""
    survey = get(session, principal, survey_id)
    if survey.status != "draft":
        raise Conflict("the survey is open or closed: its questions are frozen")
    if body["community_id"] != survey.community_id:
        raise Invalid("community_id", "a survey stays in its community")
    questions = body.pop("questions")
    _check_questions(questions)
    for question in _questions(session, survey.id):
        session.delete(question)
    session.flush()
    survey.title = body["title"]
    survey.anonymous = body.get("anonymous", False)
    survey.zone_ids = json.dumps(body.get("zone_ids") or [])
    survey.building_ids = json.dumps(body.get("building_ids") or [])
    survey.sample_size = body.get("sample_size")
    survey.seed = body.get("seed", 1)
    survey.low_score = body.get("low_score", 2)
    _set_questions(session, survey, questions)
    session.flush()
    return survey


def draw_audience(unit_ids: list[str], sample_size: int | None, seed: int) -> list[str]:
    """Every household, or a reproducible random sample of `sample_size` (the same seed draws the same homes)."""
    ordered = sorted(unit_ids)
    if sample_size is None or sample_size >= len(ordered):
        return ordered
    return sorted(random.Random(seed).sample(ordered, sample_size))


def open_survey(session: Session, settings, principal: Principal, now: datetime, survey_id: str) -> Survey:
    survey = get(session, principal, survey_id)
    if survey.status != "draft":
        raise Conflict("the survey has already been opened")
    zone_ids = json.loads(survey.zone_ids)
    building_ids = json.loads(survey.building_ids or "[]")
    query = select(Unit.id, Unit.zone_id).where(
        Unit.community_id == survey.community_id, *units.audience_where(zone_ids, building_ids)
    )
    zone_of = dict(session.execute(query).all())
    chosen = draw_audience(list(zone_of), survey.sample_size, survey.seed)
    if not chosen:
        raise Invalid("building_ids" if building_ids else "zone_ids", "no household in the survey's audience yet")
    session.add_all(SurveyHousehold(survey_id=survey.id, unit_id=u, zone_id=zone_of[u]) for u in chosen)
    survey.status, survey.opened_at = "open", now
    emit(
        session,
        settings,
        events.SURVEY_OPENED,
        f"survey/{survey.id}",
        {
            "survey_id": survey.id,
            "community_id": survey.community_id,
            "households": len(chosen),
            "zone_ids": zone_ids,
            "opened_at": now.isoformat(),
        },
    )
    session.flush()
    return survey


def _check_answer(question: SurveyQuestion, value, field: str):
    options = json.loads(question.options)
    kind = question.kind
    if kind == "single" and not (isinstance(value, str) and value in options):
        raise Invalid(field, "must be one of the question's options")
    if kind == "multiple" and not (
        isinstance(value, list) and value and all(isinstance(v, str) and v in options for v in value)
    ):
        raise Invalid(field, "must be a list of the question's options")
    if kind in SCALE_MAX:
        lowest = 1 if kind == "scale_5" else 0
        if not (isinstance(value, int) and not isinstance(value, bool) and lowest <= value <= SCALE_MAX[kind]):
            raise Invalid(field, "must be a whole number on the question's scale")
    if kind == "text" and not (isinstance(value, str) and 0 < len(value) <= 2000):
        raise Invalid(field, "must be a text of 1 to 2,000 characters")
    return value


def answer(session: Session, settings, principal: Principal, now: datetime, survey_id: str, body: dict) -> dict:
    """One household's answers: the resident for their own home, the butler for a home of their zones (by phone or
    on a visit). A low score opens a follow-up (survey.low_score → a complaint ticket in tickets)."""
    survey = get(session, principal, survey_id)
    if survey.status != "open":
        raise Conflict("the survey is not open for answers")
    unit_id = body.get("unit_id")
    if principal.role == "resident":
        if unit_id is None and len(principal.units) == 1:
            unit_id = principal.units[0]
        if body["channel"] != "mobile":
            raise Invalid("channel", "residents answer on the mobile page")
    elif body["channel"] == "mobile":
        raise Invalid("channel", "staff record answers taken by phone or on a visit")
    if unit_id is None:
        raise Invalid("unit_id", "name the household")
    unit = units.household_in_scope(session, principal, unit_id)
    household = session.get(SurveyHousehold, (survey.id, unit.id))
    if household is None:
        raise Invalid("unit_id", "this household is not in the survey's audience")
    questions = {q.id: q for q in _questions(session, survey.id)}
    given = body["answers"]
    for question_id in given:
        if question_id not in questions:
            raise Invalid(f"answers.{question_id}", "not a question of this survey")
    values = {}
    for question in questions.values():
        field = f"answers.{question.id}"
        if given.get(question.id) is None:
            if question.required:
                raise Invalid(field, "this question must be answered")
            continue
        values[question.id] = _check_answer(question, given[question.id], field)
    row = SurveyAnswer(
        id=new_id(),
        survey_id=survey.id,
        unit_id=unit.id,
        zone_id=household.zone_id,
        channel=body["channel"],
        answers=json.dumps(values, ensure_ascii=False),
        recorded_by=principal.username or principal.subject,
        created_at=now,
    )
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict("this household has already answered the survey") from None
    _low_score(session, settings, survey, row, questions, values)
    return answer_view(survey, row)


def _low_score(session, settings, survey: Survey, row: SurveyAnswer, questions: dict, values: dict) -> None:
    """The lowest scored item of the answer, if it is at or below the survey's threshold (0–10 items count at twice
    the 1–5 threshold): one follow-up per answer."""
    lows = []
    for question_id, value in values.items():
        kind = questions[question_id].kind
        if kind in SCALE_MAX and value <= survey.low_score * (2 if kind == "nps" else 1):
            lows.append((value / SCALE_MAX[kind], questions[question_id].position, question_id, value))
    if not lows:
        return
    _, _, question_id, value = min(lows)
    question = questions[question_id]
    emit(
        session,
        settings,
        events.SURVEY_LOW_SCORE,
        f"survey/{survey.id}",
        {
            "survey_id": survey.id,
            "answer_id": row.id,
            "community_id": survey.community_id,
            "zone_id": row.zone_id,
            "unit_id": None if survey.anonymous else row.unit_id,
            "service_line": question.service_line,
            "question_id": question.id,
            "score": value,
            "scale_max": SCALE_MAX[question.kind],
        },
    )


def answer_view(survey: Survey, row: SurveyAnswer) -> dict:
    return {
        "id": row.id,
        "survey_id": row.survey_id,
        "unit_id": None if survey.anonymous else row.unit_id,
        "zone_id": row.zone_id,
        "channel": row.channel,
        "answers": json.loads(row.answers),
        "recorded_by": row.recorded_by,
        "created_at": row.created_at,
    }


def answers_query(session: Session, principal: Principal, survey_id: str):
    """A resident sees their own household's answer; a butler their zones'; community roles every answer."""
    survey = get(session, principal, survey_id)
    query = select(SurveyAnswer).where(SurveyAnswer.survey_id == survey.id)
    if principal.role == "resident":
        query = query.where(SurveyAnswer.unit_id.in_(list(principal.units)))
    elif principal.role == "butler":
        query = query.where(SurveyAnswer.zone_id.in_(list(principal.zones)))
    return survey, query.order_by(SurveyAnswer.created_at, SurveyAnswer.id)


def progress(session: Session, principal: Principal, survey_id: str) -> dict:
    """Response rate by zone while the survey runs (a butler sees their own zones)."""
    survey = get(session, principal, survey_id)
    drawn = Counter(
        session.execute(select(SurveyHousehold.zone_id).where(SurveyHousehold.survey_id == survey.id)).scalars()
    )
    answered = Counter(
        session.execute(select(SurveyAnswer.zone_id).where(SurveyAnswer.survey_id == survey.id)).scalars()
    )
    if principal.role == "butler":
        drawn = Counter({z: n for z, n in drawn.items() if z in principal.zones})
    names = units.zone_names(session, drawn)
    zones = [
        {
            "zone_id": zone_id,
            "zone_name": names.get(zone_id),
            "households": count,
            "answered": answered.get(zone_id, 0),
            "response_rate": round(answered.get(zone_id, 0) / count, 4),
        }
        for zone_id, count in sorted(drawn.items(), key=lambda item: (names.get(item[0]) or "", item[0] or ""))
    ]
    total, done = sum(drawn.values()), sum(z["answered"] for z in zones)
    return {
        "survey_id": survey.id,
        "status": survey.status,
        "households": total,
        "answered": done,
        "response_rate": round(done / total, 4) if total else 0.0,
        "zones": zones,
    }


def remind(session: Session, settings, principal: Principal, now: datetime, today: date, survey_id: str) -> dict:
    """Ask the households that have not answered an open survey (a butler: those of their zones) to answer:
    `survey.reminder_due` per household, at most once per household and local day (a second call the same day
    reminds nobody twice)."""
    survey = get(session, principal, survey_id)
    if survey.status != "open":
        raise Conflict("the survey is not open")
    answered = select(SurveyAnswer.unit_id).where(SurveyAnswer.survey_id == survey.id)
    query = select(SurveyHousehold).where(
        SurveyHousehold.survey_id == survey.id, SurveyHousehold.unit_id.not_in(answered)
    )
    if principal.role == "butler":
        query = query.where(SurveyHousehold.zone_id.in_(principal.zones or ("",)))
    reminded = already = 0
    for household in session.execute(query.order_by(SurveyHousehold.unit_id)).scalars():
        mark = {
            "survey_id": survey.id,
            "unit_id": household.unit_id,
            "day": today,
            "sent_by": principal.username or principal.subject,
            "created_at": now,
        }
        if not insert_if_absent(session, SurveyReminder, mark):
            already += 1
            continue
        data = {"survey_id": survey.id, "community_id": survey.community_id, "unit_id": household.unit_id}
        emit(session, settings, events.SURVEY_REMINDER_DUE, f"survey/{survey.id}", data)
        reminded += 1
    return {"survey_id": survey.id, "reminded": reminded, "already_reminded_today": already}


def close(session: Session, settings, principal: Principal, now: datetime, survey_id: str) -> Survey:
    survey = get(session, principal, survey_id)
    if survey.status != "open":
        raise Conflict("only an open survey can be closed")
    survey.status, survey.closed_at = "closed", now
    report = analyse(session, survey)
    survey.report = json.dumps(report, ensure_ascii=False)
    emit(
        session,
        settings,
        events.SURVEY_CLOSED,
        f"survey/{survey.id}",
        {
            "survey_id": survey.id,
            "community_id": survey.community_id,
            "households": report["households"],
            "answered": report["answered"],
            "score": report["score"],
            "closed_at": now.isoformat(),
        },
    )
    session.flush()
    return survey


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def analyse(session: Session, survey: Survey) -> dict:
    """The analysis report: score per service line, question and zone, distributions, comments, the lowest items and
    the comparison with the community's previous closed survey. Scores are means on the 1–5 scale; 0–10 items are
    reported as their own mean and NPS."""
    questions = _questions(session, survey.id)
    drawn = Counter(
        session.execute(select(SurveyHousehold.zone_id).where(SurveyHousehold.survey_id == survey.id)).scalars()
    )
    by_question: dict[str, list] = defaultdict(list)
    by_line: dict[str, list] = defaultdict(list)
    by_zone: dict[str | None, list] = defaultdict(list)
    answered_by_zone: Counter = Counter()
    answered = 0
    rows = session.execute(
        select(SurveyAnswer.zone_id, SurveyAnswer.answers).where(SurveyAnswer.survey_id == survey.id)
    )
    kind_of = {q.id: q for q in questions}
    for zone_id, payload in rows:
        answered += 1
        answered_by_zone[zone_id] += 1
        for question_id, value in json.loads(payload).items():
            question = kind_of.get(question_id)
            if question is None:
                continue
            by_question[question_id].append(value)
            if question.kind == "scale_5":
                by_line[question.service_line].append(value)
                by_zone[zone_id].append(value)
    every_score = [v for line in by_line.values() for v in line]
    items = []
    for question in questions:
        values = by_question.get(question.id, [])
        item = {
            "question_id": question.id,
            "position": question.position,
            "service_line": question.service_line,
            "kind": question.kind,
            "text": question.text,
            "answered": len(values),
            "score": None,
            "nps": None,
            "distribution": {},
        }
        if question.kind in SCALE_MAX:
            item["score"] = _mean(values)
            counts = Counter(values)
            item["distribution"] = {
                str(v): counts.get(v, 0) for v in range(question.kind == "scale_5", SCALE_MAX[question.kind] + 1)
            }
            if question.kind == "nps" and values:
                promoters = sum(1 for v in values if v >= 9)
                detractors = sum(1 for v in values if v <= 6)
                item["nps"] = round(100 * (promoters - detractors) / len(values), 1)
        elif question.kind in ("single", "multiple"):
            counts = Counter(v for value in values for v in (value if isinstance(value, list) else [value]))
            item["distribution"] = {option: counts.get(option, 0) for option in json.loads(question.options)}
        items.append(item)
    names = units.zone_names(session, drawn)
    lines = [
        {"service_line": line, "score": _mean(by_line[line]), "answers": len(by_line[line])}
        for line in SERVICE_LINES
        if line in {q.service_line for q in questions if q.kind == "scale_5"}
    ]
    previous = _previous(session, survey)
    if previous is not None:
        before = {line["service_line"]: line["score"] for line in previous["by_service_line"]}
        for line in lines:
            old = before.get(line["service_line"])
            line["previous_score"] = old
            line["change"] = None if old is None or line["score"] is None else round(line["score"] - old, 2)
    return {
        "survey_id": survey.id,
        "title": survey.title,
        "community_id": survey.community_id,
        "opened_at": survey.opened_at.isoformat() if survey.opened_at else None,
        "closed_at": survey.closed_at.isoformat() if survey.closed_at else None,
        "households": sum(drawn.values()),
        "answered": answered,
        "response_rate": round(answered / sum(drawn.values()), 4) if drawn else 0.0,
        "score": _mean(every_score),
        "by_service_line": lines,
        "by_question": items,
        "by_zone": [
            {
                "zone_id": zone_id,
                "zone_name": names.get(zone_id),
                "households": count,
                "answered": answered_by_zone.get(zone_id, 0),
                "response_rate": round(answered_by_zone.get(zone_id, 0) / count, 4),
                "score": _mean(by_zone.get(zone_id, [])),
            }
            for zone_id, count in sorted(drawn.items(), key=lambda item: (names.get(item[0]) or "", item[0] or ""))
        ],
        "lowest": sorted(
            (i for i in items if i["kind"] == "scale_5" and i["score"] is not None), key=lambda i: i["score"]
        )[:5],
        "comments": [
            {"question_id": q.id, "text": value}
            for q in questions
            if q.kind == "text"
            for value in by_question.get(q.id, [])
        ],
        "previous": None if previous is None else {"survey_id": previous["survey_id"], "score": previous["score"]},
    }


def _previous(session: Session, survey: Survey) -> dict | None:
    row = session.execute(
        select(Survey.report)
        .where(
            Survey.community_id == survey.community_id,
            Survey.status == "closed",
            Survey.id != survey.id,
            Survey.closed_at < survey.closed_at,
        )
        .order_by(Survey.closed_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    return json.loads(row) if row else None


def report(session: Session, principal: Principal, survey_id: str) -> dict:
    survey = get(session, principal, survey_id)
    if survey.status != "closed" or not survey.report:
        raise ProblemError("the report is made when the survey closes", status=409, title="Conflict")
    return json.loads(survey.report)


def report_xlsx(report_: dict, timezone: str) -> bytes:
    """The analysis report as a workbook: Chinese headers and labels, rates as percentages, zone names."""
    from guanjia.workbook import Column, Workbook

    book = Workbook(timezone)
    book.pairs(
        "汇总",
        [
            ("调查", report_["title"]),
            ("抽样户数", report_["households"], "int"),
            ("答卷户数", report_["answered"], "int"),
            ("回收率", report_["response_rate"], "percent"),
            ("总体满意度（5分制）", report_["score"], "decimal"),
        ],
    )
    book.sheet(
        "按服务条线",
        [Column("服务条线"), Column("满意度", "decimal"), Column("作答数", "int"), Column("上次", "decimal")],
        [
            [SERVICE_LINE_LABELS[r["service_line"]], r["score"], r["answers"], r.get("previous_score")]
            for r in report_["by_service_line"]
        ],
    )
    book.sheet(
        "按题目",
        [
            Column("序号", "int"),
            Column("服务条线"),
            Column("题型"),
            Column("题目", width=40),
            Column("作答数", "int"),
            Column("平均分", "decimal"),
            Column("NPS", "decimal"),
            Column("分布", width=40),
        ],
        [
            [
                r["position"],
                SERVICE_LINE_LABELS[r["service_line"]],
                KIND_LABELS[r["kind"]],
                r["text"],
                r["answered"],
                r["score"],
                r["nps"],
                "，".join(f"{k}：{v}" for k, v in r["distribution"].items()),
            ]
            for r in report_["by_question"]
        ],
    )
    book.sheet(
        "按片区",
        [
            Column("片区"),
            Column("抽样户数", "int"),
            Column("答卷户数", "int"),
            Column("回收率", "percent"),
            Column("满意度", "decimal"),
        ],
        [
            [r["zone_name"] or "未分片区", r["households"], r["answered"], r["response_rate"], r["score"]]
            for r in report_["by_zone"]
        ],
    )
    book.sheet("意见建议", [Column("意见", width=80)], [[c["text"]] for c in report_["comments"]])
    return book.to_bytes()
