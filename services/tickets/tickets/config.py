"""Tickets-owned settings: where attachment files are kept (GUANJIA_TICKETS_FILES_DIR)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from guanjia import config


@dataclasses.dataclass(frozen=True)
class TicketsSettings:
    # Attachments (photos, PDFs) live in this local folder; default <var>/files/tickets.
    files_dir: Path = Path("var") / "files" / "tickets"


def from_env(env=None) -> TicketsSettings:
    """TicketsSettings from the environment (documented in docs/tickets.md)."""
    env = os.environ if env is None else env
    files_dir = env.get("GUANJIA_TICKETS_FILES_DIR") or config.var_dir(env) / "files" / "tickets"
    return TicketsSettings(files_dir=Path(files_dir))
