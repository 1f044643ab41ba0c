"""Request and response schemas of the community API."""

import marshmallow as ma

from guanjia.fields import Decimal
from guanjia.web import PageArgs, UtcDateTime, enum_out, page_schema

from .domain.activities import KINDS as ACTIVITY_KINDS
from .domain.activities import SIGNUP_STATUSES
from .domain.activities import STATUSES as ACTIVITY_STATUSES
from .domain.knowledge import CATEGORIES, DIRECTORY_CATEGORIES, DIRECTORY_KINDS, PARTIES, STATUSES
from .domain.meetings import ISSUE_STATUSES
from .domain.meetings import TICKET_CATEGORIES as ISSUE_TICKET_CATEGORIES
from .domain.meetings import TOPICS as ISSUE_TOPICS
from .domain.orders import ORDER_STATUSES, PRICINGS, PROVIDERS
from .domain.reminders import REMINDER_KINDS, REMINDER_STATUSES, REPEATS
from .domain.surveys import CHANNELS, KINDS, SERVICE_LINES
from .domain.surveys import STATUSES as SURVEY_STATUSES

ID = ma.validate.Length(min=1, max=36)


def _text(maximum: int, **kwargs):
    return ma.fields.String(validate=ma.validate.Length(min=1, max=maximum), **kwargs)


def _ids(maximum: int, description: str):
    """A list of zone or building ids (an audience), at most `maximum`."""
    return ma.fields.List(
        ma.fields.String(validate=ID), validate=ma.validate.Length(max=maximum), metadata={"description": description}
    )


# -- knowledge base --------------------------------------------------------------------------------------------------
class KnowledgeIn(ma.Schema):
    community_id = ma.fields.String(required=True, validate=ID)
    category = ma.fields.String(required=True, validate=ma.validate.OneOf(CATEGORIES))
    question = _text(200, required=True)
    answer = _text(5000, required=True)
    responsible_party = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(PARTIES),
        metadata={"description": "who answers for the matter: the property company, developer, contractor, ..."},
    )
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES), metadata={"description": "default draft"})
    review_by = ma.fields.Date(required=True, metadata={"description": "review the entry by this local day"})


class KnowledgePatch(ma.Schema):
    category = ma.fields.String(validate=ma.validate.OneOf(CATEGORIES))
    question = _text(200)
    answer = _text(5000)
    responsible_party = ma.fields.String(validate=ma.validate.OneOf(PARTIES))
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))
    review_by = ma.fields.Date()


class KnowledgeOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    category = enum_out(CATEGORIES)
    question = ma.fields.String()
    answer = ma.fields.String()
    responsible_party = enum_out(PARTIES)
    status = enum_out(STATUSES)
    review_by = ma.fields.Date()
    created_by = ma.fields.String()
    updated_by = ma.fields.String()
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class KnowledgeListArgs(PageArgs):
    community_id = ma.fields.String(required=True, validate=ID)
    q = ma.fields.String(
        validate=ma.validate.Length(min=1, max=50),
        metadata={"description": "text anywhere in the question or the answer (Chinese: any substring, e.g. 漏水)"},
    )
    category = ma.fields.String(validate=ma.validate.OneOf(CATEGORIES))
    responsible_party = ma.fields.String(validate=ma.validate.OneOf(PARTIES))
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))


class OverdueArgs(PageArgs):
    community_id = ma.fields.String(required=True, validate=ID)


KnowledgePage = page_schema(KnowledgeOut, "KnowledgePage")


# -- directory -------------------------------------------------------------------------------------------------------
class DirectoryIn(ma.Schema):
    community_id = ma.fields.String(required=True, validate=ID)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(DIRECTORY_KINDS))
    category = ma.fields.String(required=True, validate=ma.validate.OneOf(DIRECTORY_CATEGORIES))
    name = _text(100, required=True)
    phone = ma.fields.String(
        validate=ma.validate.Regexp(r"^[0-9+\-() ]{3,30}$", error="not a telephone number"),
        metadata={"description": "the organisation's number (12345, 0571-87000000)"},
    )
    address = _text(200)
    hours = _text(100)
    note = _text(500)
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))
    review_by = ma.fields.Date(required=True)


class DirectoryPatch(ma.Schema):
    category = ma.fields.String(validate=ma.validate.OneOf(DIRECTORY_CATEGORIES))
    name = _text(100)
    phone = ma.fields.String(validate=ma.validate.Regexp(r"^[0-9+\-() ]{3,30}$", error="not a telephone number"))
    address = _text(200, allow_none=True)
    hours = _text(100, allow_none=True)
    note = _text(500, allow_none=True)
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))
    review_by = ma.fields.Date()


class DirectoryOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    kind = enum_out(DIRECTORY_KINDS)
    category = enum_out(DIRECTORY_CATEGORIES)
    name = ma.fields.String()
    phone = ma.fields.String(allow_none=True)
    address = ma.fields.String(allow_none=True)
    hours = ma.fields.String(allow_none=True)
    note = ma.fields.String(allow_none=True)
    status = enum_out(STATUSES)
    review_by = ma.fields.Date()
    updated_by = ma.fields.String()
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class DirectoryListArgs(PageArgs):
    community_id = ma.fields.String(required=True, validate=ID)
    q = ma.fields.String(validate=ma.validate.Length(min=1, max=50))
    kind = ma.fields.String(validate=ma.validate.OneOf(DIRECTORY_KINDS))
    category = ma.fields.String(validate=ma.validate.OneOf(DIRECTORY_CATEGORIES))
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))


DirectoryPage = page_schema(DirectoryOut, "DirectoryPage")


# -- surveys ---------------------------------------------------------------------------------------------------------
class QuestionIn(ma.Schema):
    service_line = ma.fields.String(required=True, validate=ma.validate.OneOf(SERVICE_LINES))
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(KINDS))
    text = _text(300, required=True)
    options = ma.fields.List(_text(100), validate=ma.validate.Length(max=20))
    required = ma.fields.Boolean()


class SurveyIn(ma.Schema):
    community_id = ma.fields.String(required=True, validate=ID)
    title = _text(100, required=True)
    anonymous = ma.fields.Boolean(metadata={"description": "answers and follow-ups without the household"})
    zone_ids = _ids(100, "the zones asked; empty or absent: the whole community")
    building_ids = _ids(200, "the buildings asked (with zone_ids: the households in both); empty: no narrowing")
    sample_size = ma.fields.Integer(
        validate=ma.validate.Range(min=1, max=100_000),
        metadata={"description": "a random sample of this many households; absent: every household"},
    )
    seed = ma.fields.Integer(
        validate=ma.validate.Range(min=0, max=2_147_483_647),
        metadata={"description": "the sample's seed: the same seed draws the same households"},
    )
    low_score = ma.fields.Integer(
        validate=ma.validate.Range(min=1, max=4),
        metadata={"description": "a 1–5 answer at or below this (0–10: twice this) opens a follow-up; default 2"},
    )
    questions = ma.fields.List(ma.fields.Nested(QuestionIn), required=True, validate=ma.validate.Length(min=1, max=100))


class QuestionOut(ma.Schema):
    id = ma.fields.String()
    position = ma.fields.Integer()
    service_line = enum_out(SERVICE_LINES)
    kind = enum_out(KINDS)
    text = ma.fields.String()
    options = ma.fields.List(ma.fields.String())
    required = ma.fields.Boolean()


class SurveyOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    title = ma.fields.String()
    status = enum_out(SURVEY_STATUSES)
    anonymous = ma.fields.Boolean()
    zone_ids = ma.fields.List(ma.fields.String())
    building_ids = ma.fields.List(ma.fields.String())
    sample_size = ma.fields.Integer(allow_none=True)
    seed = ma.fields.Integer()
    low_score = ma.fields.Integer()
    questions = ma.fields.List(ma.fields.Nested(QuestionOut))
    households = ma.fields.Integer(metadata={"description": "households drawn (0 before the survey opens)"})
    answered = ma.fields.Integer()
    created_by = ma.fields.String()
    created_at = UtcDateTime()
    opened_at = UtcDateTime(allow_none=True)
    closed_at = UtcDateTime(allow_none=True)


class SurveySummary(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    title = ma.fields.String()
    status = enum_out(SURVEY_STATUSES)
    created_at = UtcDateTime()
    opened_at = UtcDateTime(allow_none=True)
    closed_at = UtcDateTime(allow_none=True)


class SurveyListArgs(PageArgs):
    community_id = ma.fields.String(required=True, validate=ID)
    status = ma.fields.String(validate=ma.validate.OneOf(SURVEY_STATUSES))


SurveyPage = page_schema(SurveySummary, "SurveyPage")


class AnswerIn(ma.Schema):
    unit_id = ma.fields.String(
        validate=ID, metadata={"description": "the household; a resident with one home may leave it out"}
    )
    channel = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(CHANNELS),
        metadata={"description": "mobile (the resident), phone or visit (recorded by staff)"},
    )
    answers = ma.fields.Dict(
        keys=ma.fields.String(validate=ID),
        values=ma.fields.Raw(allow_none=True),
        required=True,
        metadata={"description": "question id → an option, a list of options, a whole number or a text"},
    )


class AnswerOut(ma.Schema):
    id = ma.fields.String()
    survey_id = ma.fields.String()
    unit_id = ma.fields.String(allow_none=True)
    zone_id = ma.fields.String(allow_none=True)
    channel = enum_out(CHANNELS)
    answers = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Raw())
    recorded_by = ma.fields.String()
    created_at = UtcDateTime()


AnswerPage = page_schema(AnswerOut, "AnswerPage")


class ZoneProgress(ma.Schema):
    zone_id = ma.fields.String(allow_none=True)
    zone_name = ma.fields.String(allow_none=True)
    households = ma.fields.Integer()
    answered = ma.fields.Integer()
    response_rate = ma.fields.Float(metadata={"description": "0 to 1"})


class ProgressOut(ma.Schema):
    survey_id = ma.fields.String()
    status = enum_out(SURVEY_STATUSES)
    households = ma.fields.Integer()
    answered = ma.fields.Integer()
    response_rate = ma.fields.Float()
    zones = ma.fields.List(ma.fields.Nested(ZoneProgress))


class ReportArgs(ma.Schema):
    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(("json", "xlsx")))


# -- service catalogue and orders ------------------------------------------------------------------------------------
def _money(description: str = "decimal yuan, e.g. 120.00", **kwargs):
    return Decimal(
        places=2, validate=ma.validate.Range(min=0, max=1_000_000), metadata={"description": description}, **kwargs
    )


class CatalogueItemIn(ma.Schema):
    community_id = ma.fields.String(required=True, validate=ID)
    name = _text(100, required=True)
    description = _text(1000)
    pricing = ma.fields.String(required=True, validate=ma.validate.OneOf(PRICINGS))
    price = _money()
    unit_name = _text(20, metadata={"description": "the unit of a per-unit price: 小时, 次, 件"})
    provider = ma.fields.String(required=True, validate=ma.validate.OneOf(PROVIDERS))
    partner_name = _text(100)
    lead_days = ma.fields.Integer(validate=ma.validate.Range(min=0, max=365))
    active = ma.fields.Boolean()


class CatalogueItemPatch(ma.Schema):
    name = _text(100)
    description = _text(1000, allow_none=True)
    price = _money(allow_none=True)
    unit_name = _text(20, allow_none=True)
    partner_name = _text(100, allow_none=True)
    lead_days = ma.fields.Integer(validate=ma.validate.Range(min=0, max=365))
    active = ma.fields.Boolean()


class CatalogueItemOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    name = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    pricing = enum_out(PRICINGS)
    price = ma.fields.String(allow_none=True)
    unit_name = ma.fields.String(allow_none=True)
    provider = enum_out(PROVIDERS)
    partner_name = ma.fields.String(allow_none=True)
    lead_days = ma.fields.Integer()
    active = ma.fields.Boolean()
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class CatalogueListArgs(PageArgs):
    community_id = ma.fields.String(required=True, validate=ID)


CataloguePage = page_schema(CatalogueItemOut, "CataloguePage")


class OrderIn(ma.Schema):
    unit_id = ma.fields.String(required=True, validate=ID)
    item_id = ma.fields.String(required=True, validate=ID)
    quantity = ma.fields.Integer(validate=ma.validate.Range(min=1, max=1000))
    note = _text(500)


class ScheduleIn(ma.Schema):
    scheduled_for = ma.fields.AwareDateTime(required=True)
    price = _money("the agreed price of a quoted item, decimal yuan")


class RateIn(ma.Schema):
    rating = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=5))


class OrderOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    unit_id = ma.fields.String()
    zone_id = ma.fields.String(allow_none=True)
    item_id = ma.fields.String()
    item_name = ma.fields.String()
    unit_label = ma.fields.String(allow_none=True, metadata={"description": "the household, e.g. 1栋1-101"})
    quantity = ma.fields.Integer()
    amount = ma.fields.String(allow_none=True, metadata={"description": "decimal yuan; null until a quote is agreed"})
    status = enum_out(ORDER_STATUSES)
    note = ma.fields.String(allow_none=True)
    scheduled_for = UtcDateTime(allow_none=True)
    rating = ma.fields.Integer(allow_none=True)
    requested_by = ma.fields.String()
    created_at = UtcDateTime()
    completed_at = UtcDateTime(allow_none=True)


class OrderListArgs(PageArgs):
    community_id = ma.fields.String(required=True, validate=ID)
    status = ma.fields.String(validate=ma.validate.OneOf(ORDER_STATUSES))


OrderPage = page_schema(OrderOut, "OrderPage")


class FiguresArgs(ReportArgs):
    community_id = ma.fields.String(required=True, validate=ID)
    month = ma.fields.String(
        required=True, validate=ma.validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$"), metadata={"example": "2026-12"}
    )


class ItemFigures(ma.Schema):
    item_name = ma.fields.String()
    orders = ma.fields.Integer()
    revenue = ma.fields.String()


class ZoneFigures(ma.Schema):
    zone_id = ma.fields.String(allow_none=True)
    zone_name = ma.fields.String(allow_none=True)
    orders = ma.fields.Integer()
    revenue = ma.fields.String()


class FiguresOut(ma.Schema):
    community_id = ma.fields.String()
    month = ma.fields.String()
    by_item = ma.fields.List(ma.fields.Nested(ItemFigures))
    by_zone = ma.fields.List(ma.fields.Nested(ZoneFigures))


# -- activities and owner meetings -----------------------------------------------------------------------------------
class ActivityIn(ma.Schema):
    community_id = ma.fields.String(required=True, validate=ID)
    title = _text(100, required=True)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(ACTIVITY_KINDS))
    place = _text(200, required=True)
    starts_at = ma.fields.AwareDateTime(required=True)
    ends_at = ma.fields.AwareDateTime(required=True)
    signup_closes_at = ma.fields.AwareDateTime(required=True)
    capacity = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=100_000))
    waiting_list = ma.fields.Boolean(metadata={"description": "keep a waiting list when full (default true)"})
    zone_ids = _ids(100, "the audience's zones; empty or absent: the whole community")
    building_ids = _ids(200, "the audience's buildings (with zone_ids: the households in both)")


class ActivityPatch(ma.Schema):
    title = _text(100)
    place = _text(200)
    starts_at = ma.fields.AwareDateTime()
    ends_at = ma.fields.AwareDateTime()
    signup_closes_at = ma.fields.AwareDateTime()
    capacity = ma.fields.Integer(validate=ma.validate.Range(min=1, max=100_000))
    status = ma.fields.String(validate=ma.validate.OneOf(ACTIVITY_STATUSES))
    minutes = _text(20_000, metadata={"description": "an owner meeting's minutes"})
    zone_ids = _ids(100, "the audience's zones (a draft only); empty: the whole community")
    building_ids = _ids(200, "the audience's buildings (a draft only; with zone_ids: the households in both)")


class ActivityOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    title = ma.fields.String()
    kind = enum_out(ACTIVITY_KINDS)
    place = ma.fields.String()
    starts_at = UtcDateTime()
    ends_at = UtcDateTime()
    signup_closes_at = UtcDateTime()
    capacity = ma.fields.Integer()
    waiting_list = ma.fields.Boolean()
    status = enum_out(ACTIVITY_STATUSES)
    minutes = ma.fields.String(allow_none=True)
    confirmed_people = ma.fields.Integer()
    places_left = ma.fields.Integer()
    waiting = ma.fields.Integer(metadata={"description": "households on the waiting list"})
    zone_ids = ma.fields.List(ma.fields.String())
    zone_names = ma.fields.List(ma.fields.String(allow_none=True), metadata={"description": "in zone_ids' order"})
    building_ids = ma.fields.List(ma.fields.String())
    created_by = ma.fields.String()
    created_at = UtcDateTime()
    published_at = UtcDateTime(allow_none=True)


class ActivityListArgs(PageArgs):
    community_id = ma.fields.String(required=True, validate=ID)
    kind = ma.fields.String(validate=ma.validate.OneOf(ACTIVITY_KINDS))


ActivityPage = page_schema(ActivityOut, "ActivityPage")


class SignUpIn(ma.Schema):
    unit_id = ma.fields.String(required=True, validate=ID)
    people = ma.fields.Integer(validate=ma.validate.Range(min=1, max=20))


class SignUpOut(ma.Schema):
    id = ma.fields.String()
    activity_id = ma.fields.String()
    unit_id = ma.fields.String()
    unit_label = ma.fields.String(allow_none=True, metadata={"description": "the household, e.g. 1栋1-101"})
    zone_id = ma.fields.String(allow_none=True)
    people = ma.fields.Integer()
    status = enum_out(SIGNUP_STATUSES)
    signed_up_by = ma.fields.String()
    created_at = UtcDateTime()
    checked_in_at = UtcDateTime(allow_none=True)


SignUpPage = page_schema(SignUpOut, "SignUpPage")


class PhotoOut(ma.Schema):
    id = ma.fields.String()
    activity_id = ma.fields.String()
    filename = ma.fields.String()
    content_type = ma.fields.String()
    size = ma.fields.Integer()
    uploaded_by = ma.fields.String()
    created_at = UtcDateTime()


PhotoPage = page_schema(PhotoOut, "ActivityPhotoPage")


class IssueIn(ma.Schema):
    topic = ma.fields.String(required=True, validate=ma.validate.OneOf(ISSUE_TOPICS))
    description = _text(2000, required=True)
    unit_id = ma.fields.String(validate=ID, metadata={"description": "the household that raised it (optional)"})


class IssueTicketIn(ma.Schema):
    category = ma.fields.String(required=True, validate=ma.validate.OneOf(ISSUE_TICKET_CATEGORIES))


class IssueOut(ma.Schema):
    id = ma.fields.String()
    activity_id = ma.fields.String()
    community_id = ma.fields.String()
    unit_id = ma.fields.String(allow_none=True)
    unit_label = ma.fields.String(allow_none=True)
    zone_id = ma.fields.String(allow_none=True)
    topic = enum_out(ISSUE_TOPICS)
    description = ma.fields.String()
    status = enum_out(ISSUE_STATUSES)
    ticket_category = enum_out(ISSUE_TICKET_CATEGORIES, allow_none=True)
    raised_by = ma.fields.String()
    created_at = UtcDateTime()
    ticket_requested_at = UtcDateTime(allow_none=True)


IssuePage = page_schema(IssueOut, "MeetingIssuePage")


class SurveyRemindOut(ma.Schema):
    survey_id = ma.fields.String()
    reminded = ma.fields.Integer(metadata={"description": "households asked now (survey.reminder_due each)"})
    already_reminded_today = ma.fields.Integer(metadata={"description": "not asked twice on one day"})


# -- birthday greetings and custom reminders -------------------------------------------------------------------------
class GreetingIn(ma.Schema):
    unit_id = ma.fields.String(required=True, validate=ID, metadata={"description": "the resident's home"})
    birth_month = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=12))
    birth_day = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=31))


class GreetingOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    unit_id = ma.fields.String()
    resident_id = ma.fields.String()
    birthday = ma.fields.String(metadata={"description": "MM-DD for the resident themselves; **-** for staff"})
    created_at = UtcDateTime()


class GreetingListArgs(PageArgs):
    community_id = ma.fields.String(required=True, validate=ID)


GreetingPage = page_schema(GreetingOut, "GreetingPage")


class ReminderIn(ma.Schema):
    unit_id = ma.fields.String(required=True, validate=ID)
    kind = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(REMINDER_KINDS),
        metadata={"description": "the matter: gas safety check, key collection, document expiry, ..."},
    )
    due_on = ma.fields.Date(required=True, metadata={"description": "the local day of the (first) reminder"})
    repeat = ma.fields.String(validate=ma.validate.OneOf(tuple(REPEATS)), metadata={"description": "default none"})
    note = _text(500, metadata={"description": "the butler's note; never sent"})


class ReminderOut(ma.Schema):
    id = ma.fields.String()
    community_id = ma.fields.String()
    unit_id = ma.fields.String()
    zone_id = ma.fields.String(allow_none=True)
    kind = enum_out(REMINDER_KINDS)
    note = ma.fields.String(allow_none=True)
    repeat = enum_out(tuple(REPEATS))
    first_due = ma.fields.Date()
    next_due = ma.fields.Date(allow_none=True, metadata={"description": "the next day it is sent; null when done"})
    status = enum_out(REMINDER_STATUSES)
    created_by = ma.fields.String()
    created_at = UtcDateTime()


class ReminderListArgs(PageArgs):
    community_id = ma.fields.String(required=True, validate=ID)
    unit_id = ma.fields.String(validate=ID)
    status = ma.fields.String(validate=ma.validate.OneOf(REMINDER_STATUSES))


ReminderPage = page_schema(ReminderOut, "ReminderPage")
