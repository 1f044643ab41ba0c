"""Write the services' need-to-know tables (their policy.py) into docs/security.md, between the markers.

Usage: .venv/bin/python scripts/access_tables.py   (tests/e2e/test_need_to_know.py fails until the docs match)
"""

import importlib
from pathlib import Path

SERVICES = ("residents", "tickets", "billing", "notifications", "community", "staff")
BEGIN, END = "<!-- need-to-know tables: begin (scripts/access_tables.py) -->", "<!-- need-to-know tables: end -->"


def render() -> str:
    parts = [BEGIN]
    for name in SERVICES:
        policy = importlib.import_module(f"{name}.policy").policy()
        parts += ["", f"**{name}** (`services/{name}/{name}/policy.py`)", "", policy.markdown()]
    return "\n".join(parts + ["", END])


def main() -> None:
    path = Path(__file__).resolve().parents[1] / "docs/security.md"
    text = path.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    path.write_text(text[:start] + render() + text[end:], encoding="utf-8")


if __name__ == "__main__":
    main()
