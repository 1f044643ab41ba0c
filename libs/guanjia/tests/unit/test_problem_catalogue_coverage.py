"""Every English message a service can put in a problem+json answer has a zh-CN text in guanjia.problems.

The test reads the sources (services/*/<package>/ and libs/guanjia/guanjia/, tests excluded), finds every string or
f-string passed to an error site — the ProblemError family, marshmallow's ValidationError and `error=` /
`error_messages=`, abort(), problem(), problem_response() — and asserts the catalogue translates it. An f-string's
placeholders are filled with a sample value, so a template must be matched by a pattern keeping the values. A new
English-only message therefore fails here until MESSAGES_ZH or PATTERNS_ZH gets its Chinese.
"""

from __future__ import annotations

import ast
import re
from http import HTTPStatus
from pathlib import Path

import pytest

from guanjia import problems

ROOT = Path(__file__).resolve().parents[4]
# Calls whose string arguments reach a client as a title, a detail or a field message.
ERROR_CALLS = {
    "ProblemError",
    "Invalid",
    "NotFound",
    "Forbidden",
    "Conflict",
    "Unauthorized",
    "UpstreamUnavailable",
    "TooLarge",
    "ImportRejected",
    "PasswordChangeRequired",
    "ValidationError",
    "abort",
    "problem",
    "problem_response",
}
# A roster import collects its row errors with plan.error(sheet, row, column, message); they come back in `errors`
# and in the problem's `rows`.
COLLECTOR_CALLS = {("plan", "error")}
# Keyword arguments of any call that carry a client-facing message (marshmallow validators, fields).
MESSAGE_KEYWORDS = {"error", "error_messages"}
# Placeholder values an f-string's message is tried with: an id or number, then a noun ("{what} not found").
SAMPLES = ("7", "unit")
# Modules whose ValueError texts reach a client as a field message (`raise Invalid(field, str(exc))`).
VALUE_ERROR_MODULES = {
    "libs/guanjia/guanjia/fields.py",
    "libs/guanjia/guanjia/money.py",
    "libs/guanjia/guanjia/uploads.py",
    "services/residents/residents/values.py",
    "services/residents/residents/domain/structure.py",
    "services/tickets/tickets/domain/attachments.py",
    "services/tickets/tickets/domain/business_hours.py",
}
CJK = re.compile(r"[\u4e00-\u9fff]")


def _sources():
    roots = [ROOT / "libs" / "guanjia" / "guanjia"]
    roots += [path for path in (ROOT / "services").glob("*/*") if path.is_dir() and (path / "__init__.py").exists()]
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            if "tests" not in path.relative_to(ROOT).parts:
                yield path


PLACEHOLDER = "\x00"  # marks a formatted value in a scanned message until the test fills it


def _text(node) -> str | None:
    """The message a string or f-string node produces, each placeholder marked by PLACEHOLDER."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else PLACEHOLDER for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text(node.left), _text(node.right)
        if left is not None or right is not None:  # "only " + ", ".join(...) + " files"
            return (PLACEHOLDER if left is None else left) + (PLACEHOLDER if right is None else right)
    return None


def _strings(node):
    """Messages inside an argument: the string itself, or the strings of a dict's values / a list's items."""
    text = _text(node)
    if text is not None:
        yield text
    elif isinstance(node, ast.Dict):
        for value in node.values:
            yield from _strings(value)
    elif isinstance(node, (ast.List, ast.Tuple)):
        for item in node.elts:
            yield from _strings(item)
    elif isinstance(node, ast.IfExp):
        yield from _strings(node.body)
        yield from _strings(node.orelse)


def _name(func) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _is_message(text: str) -> bool:
    # Field names, header names and empty strings are not sentences a client reads.
    text = text.replace(PLACEHOLDER, "").strip()
    return bool(text) and (" " in text or text.endswith("."))


def _constants(trees) -> dict[str, str]:
    """Module-level string constants (BAD_CREDENTIALS = "..."): an error site may name one instead of a literal."""
    constants = {}
    for tree in trees:
        for statement in tree.body:
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                target, text = statement.targets[0], _text(statement.value)
                if isinstance(target, ast.Name) and text is not None:
                    constants[target.id] = text
    return constants


def _wrappers(trees) -> set[str]:
    """Helpers such as `_conflict(detail)` that pass their own parameter on to an error site count as error sites."""
    calls = set(ERROR_CALLS)
    while True:
        grown = set(calls)
        for tree in trees:
            for function in ast.walk(tree):
                if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                parameters = {argument.arg for argument in function.args.args + function.args.kwonlyargs}
                for statement in ast.walk(function):
                    node = getattr(statement, "exc" if isinstance(statement, ast.Raise) else "value", None)
                    if not isinstance(statement, (ast.Raise, ast.Return)) or not isinstance(node, ast.Call):
                        continue
                    if _name(node.func) in calls:
                        passed = list(node.args) + [keyword.value for keyword in node.keywords]
                        if any(isinstance(value, ast.Name) and value.id in parameters for value in passed):
                            grown.add(function.name)
        if grown == calls:
            return calls
        calls = grown


def messages() -> dict[str, str]:
    """English message → the first source place it occurs (path:line)."""
    found: dict[str, str] = {}
    trees = {path: ast.parse(path.read_text(encoding="utf-8"), filename=str(path)) for path in _sources()}
    calls = _wrappers(trees.values())
    constants = _constants(trees.values())
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(_name(base) in ERROR_CALLS for base in node.bases):
                for statement in node.body:  # class-level `title = "..."` of a ProblemError subclass
                    if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Constant):
                        if any(getattr(t, "id", "") in ("title", "detail") for t in statement.targets):
                            found.setdefault(statement.value.value, f"{path.relative_to(ROOT)}:{statement.lineno}")
            if not isinstance(node, ast.Call):
                continue
            arguments = []
            if _name(node.func) == "ValueError" and str(path.relative_to(ROOT)) in VALUE_ERROR_MODULES:
                arguments += list(node.args)
            func = node.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                if (func.value.id, func.attr) in COLLECTOR_CALLS and node.args:
                    arguments.append(node.args[-1])
            if _name(node.func) in calls:
                # Invalid(field, message): the first argument names a field, it is no sentence.
                arguments += list(node.args[1:] if _name(node.func) == "Invalid" else node.args)
                # field= / field_name= name a field (`attendee_ids.3`), they are no sentence either.
                arguments += [keyword.value for keyword in node.keywords if keyword.arg not in ("field_name", "field")]
            else:
                arguments += [keyword.value for keyword in node.keywords if keyword.arg in MESSAGE_KEYWORDS]
            for argument in arguments:
                named = _name(argument) if isinstance(argument, (ast.Name, ast.Attribute)) else ""
                texts = [constants[named]] if named in constants else list(_strings(argument))
                for text in texts:
                    if _is_message(text):
                        found.setdefault(text, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def _title_handled(text: str) -> bool:
    english = {kind[1].lower() for kind in problems.KINDS.values()} | {status.phrase.lower() for status in HTTPStatus}
    return text.lower() in english


def _translated(text: str) -> bool:
    for sample in SAMPLES:
        english = text.replace(PLACEHOLDER, sample)
        chinese = problems.translate(english)
        if chinese != english and CJK.search(chinese):
            return True
    return False


def test_werkzeugs_own_descriptions_have_a_chinese_text():
    from werkzeug.exceptions import default_exceptions

    for status in problems.KINDS:
        if status in default_exceptions:
            description = default_exceptions[status].description
            assert CJK.search(problems.translate(description)), (status, description)


def test_the_scan_finds_the_services_messages():
    found = messages()
    # A guard against a scanner that silently finds nothing (a moved tree, a renamed error class).
    assert len(found) > 200, len(found)
    assert any(place.startswith("services/tickets/") for place in found.values())
    assert any(place.startswith("services/billing/") for place in found.values())


@pytest.mark.parametrize("text,place", sorted(messages().items()))
def test_every_message_a_service_can_return_has_a_chinese_text(text, place):
    if _title_handled(text):
        return
    if not _translated(text):
        raise AssertionError(f"{place}: no zh-CN text for {text.replace(PLACEHOLDER, '{…}')!r}")
