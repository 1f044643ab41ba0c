"""Display fields (unit label, zone name, staff name …) added to a response in one batch per field, never per row."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Shown:
    """`source` holds an id (or a list of ids); `targets` are set from what `values(ids)` answers for it.

    `targets` is one attribute name (the answer is the value) or {attribute: key} (the answer is a dict).
    A list of ids gives a list of values. An id the lookup does not know gives None.
    `kept` names an attribute of the row holding the value as it was written down (a receipt's cashier): a row
    with one shows it and is not looked up (one target, one id per row).
    """

    source: str
    targets: str | dict[str, str]
    values: Callable[[set[str]], dict[str, Any]]
    kept: str | None = None


def _rows(result) -> list:
    if isinstance(result, dict) and isinstance(result.get("items"), list):
        return result["items"]
    if isinstance(result, list | tuple):
        return list(result)
    return [] if result is None else [result]


def _get(row, name: str):
    return row.get(name) if isinstance(row, dict) else getattr(row, name, None)


def _set(row, name: str, value) -> None:
    if isinstance(row, dict):
        row[name] = value
    else:
        setattr(row, name, value)  # a plain attribute on the ORM object, read by the response schema


def _ids(value) -> Iterable[str]:
    if isinstance(value, list | tuple):
        return [v for v in value if v]
    return [value] if value else []


def annotate(result, fields: Iterable[Shown], nested: dict[str, Iterable[Shown]] | None = None):
    """Set the display fields on every row of `result` (a page {"items": […]}, a list or one object); returns it.

    `nested` names list attributes of each row whose own rows get further fields (a round's findings …).
    """
    rows = _rows(result)
    for name, inner in (nested or {}).items():
        annotate([child for row in rows for child in (_get(row, name) or [])], inner)
    for field in fields:
        kept = {id(row): _get(row, field.kept) for row in rows} if field.kept else {}
        ids = {i for row in rows if not kept.get(id(row)) for i in _ids(_get(row, field.source))}
        found = field.values(ids) if ids else {}
        for row in rows:
            value = _get(row, field.source)
            if kept.get(id(row)):
                _set(row, field.targets, kept[id(row)])
            elif isinstance(value, list | tuple):
                _set_all(row, field.targets, [found.get(i) for i in value])
            else:
                _set_one(row, field.targets, found.get(value) if value else None)
    return result


def _set_one(row, targets, answer) -> None:
    if isinstance(targets, str):
        _set(row, targets, answer)
        return
    for target, key in targets.items():
        _set(row, target, (answer or {}).get(key))


def _set_all(row, targets, answers: list) -> None:
    if isinstance(targets, str):
        _set(row, targets, answers)
        return
    for target, key in targets.items():
        _set(row, target, [(answer or {}).get(key) for answer in answers])
