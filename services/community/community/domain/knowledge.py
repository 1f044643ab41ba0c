"""The front desk's knowledge base (百问百答) and the local directory and hotlines: scope, search, review dates."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.types import Boolean

from guanjia.auth import Principal
from guanjia.db import new_id
from guanjia.errors import NotFound

from ..models import DirectoryEntry, KnowledgeEntry

CATEGORIES = ("fees", "repairs", "renovation", "parking", "security", "environment", "utilities", "occupancy", "other")
CATEGORY_LABELS = {
    "fees": "收费",
    "repairs": "报修维修",
    "renovation": "装修",
    "parking": "停车",
    "security": "安全秩序",
    "environment": "环境绿化",
    "utilities": "水电气",
    "occupancy": "入住与交房",
    "other": "其他",
}
# Who answers for the matter: where the property company's responsibility ends.
PARTIES = ("property_company", "developer", "contractor", "utility", "government")
PARTY_LABELS = {
    "property_company": "物业公司",
    "developer": "开发商",
    "contractor": "施工单位",
    "utility": "公用事业单位",
    "government": "政府部门",
}
STATUSES = ("draft", "published")
DIRECTORY_KINDS = ("local_service", "hotline")
DIRECTORY_CATEGORIES = (
    "food",
    "shopping",
    "housing",
    "transport",
    "leisure",
    "health",
    "education",
    "water",
    "electricity",
    "gas",
    "subdistrict",
    "police",
    "citizen_hotline",
    "other",
)
MODELS = {"knowledge": KnowledgeEntry, "directory": DirectoryEntry}


def local_today(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def _check_community(principal: Principal, community_id: str) -> None:
    if not principal.sees_community(community_id):
        raise NotFound("no such community")


def _like(text: str) -> str:
    """A LIKE pattern matching `text` anywhere (Chinese has no word boundaries: substring, not words)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_grams(text: str) -> list[str]:
    """What an entry's `search_grams` must all hold for `text` to be a substring of its question or answer: the
    pairs of adjacent characters (the one character of a one-character query). Necessary, not sufficient — the LIKE
    still decides; the GIN index on the grams only spares reading the entries that cannot match."""
    if len(text) == 1:
        return [text]
    return sorted({text[i : i + 2] for i in range(len(text) - 1)})


class GramsContain(ColumnElement):
    """`search_grams @> ARRAY[...]` on PostgreSQL (the GIN index's question); true elsewhere (SQLite keeps no
    grams: the LIKE alone decides there)."""

    inherit_cache = False
    type = Boolean()

    def __init__(self, column, grams: list[str]):
        self.column, self.grams = column, grams


@compiles(GramsContain)
def _grams_anywhere(element, compiler, **kw):
    return "1 = 1"


@compiles(GramsContain, "postgresql")
def _grams_postgresql(element, compiler, **kw):
    from sqlalchemy import bindparam, cast
    from sqlalchemy.dialects.postgresql import ARRAY
    from sqlalchemy.types import Text

    grams = cast(bindparam(None, element.grams, type_=ARRAY(Text)), ARRAY(Text))
    return compiler.process(element.column.op("@>")(grams), **kw)


def list_query(principal: Principal, kind: str, args: dict):
    """Entries of one community the caller may read, optionally filtered and searched; residents get published
    entries only."""
    model = MODELS[kind]
    _check_community(principal, args["community_id"])
    query = select(model).where(model.community_id == args["community_id"])
    if principal.role == "resident":
        query = query.where(model.status == "published")
    elif args.get("status"):
        query = query.where(model.status == args["status"])
    for name in ("category", "responsible_party", "kind"):
        if args.get(name) and hasattr(model, name):
            query = query.where(getattr(model, name) == args[name])
    if args.get("q"):
        pattern = _like(args["q"])
        columns = (
            (KnowledgeEntry.question, KnowledgeEntry.answer)
            if model is KnowledgeEntry
            else (DirectoryEntry.name, DirectoryEntry.address, DirectoryEntry.note)
        )
        if model is KnowledgeEntry:
            query = query.where(GramsContain(KnowledgeEntry.search_grams, search_grams(args["q"])))
        query = query.where(or_(*(column.like(pattern, escape="\\") for column in columns)))
    order = (model.category, model.question) if model is KnowledgeEntry else (model.kind, model.category, model.name)
    return query.order_by(*order, model.id)


def overdue_query(principal: Principal, kind: str, community_id: str, today: date):
    """Entries whose review date has passed (定期更新), oldest first."""
    model = MODELS[kind]
    _check_community(principal, community_id)
    return (
        select(model)
        .where(model.community_id == community_id, model.review_by < today)
        .order_by(model.review_by, model.id)
    )


def get(session: Session, principal: Principal, kind: str, entry_id: str):
    entry = session.get(MODELS[kind], entry_id)
    if (
        entry is None
        or not principal.sees_community(entry.community_id)
        or (principal.role == "resident" and entry.status != "published")
    ):
        raise NotFound("no such entry")
    return entry


def create(session: Session, principal: Principal, kind: str, now: datetime, body: dict):
    _check_community(principal, body["community_id"])
    actor = principal.username or principal.subject
    entry = MODELS[kind](
        id=new_id(), created_at=now, updated_at=now, updated_by=actor, status=body.pop("status", "draft"), **body
    )
    if kind == "knowledge":
        entry.created_by = actor
    session.add(entry)
    session.flush()
    return entry


def update(session: Session, principal: Principal, kind: str, now: datetime, entry_id: str, body: dict):
    entry = get(session, principal, kind, entry_id)
    for name, value in body.items():
        setattr(entry, name, value)
    entry.updated_at = now
    entry.updated_by = principal.username or principal.subject
    return entry
