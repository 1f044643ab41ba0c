"""Residents-owned settings: where photos of renovation inspections and vacancy checks are kept
(GUANJIA_RESIDENTS_FILES_DIR)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from guanjia import config


@dataclasses.dataclass(frozen=True)
class ResidentsSettings:
    # Inspection and vacancy-check photos live in this local folder; default <var>/files/residents.
    files_dir: Path = Path("var") / "files" / "residents"


def from_env(env=None) -> ResidentsSettings:
    """ResidentsSettings from the environment (documented in docs/residents.md)."""
    env = os.environ if env is None else env
    files_dir = env.get("GUANJIA_RESIDENTS_FILES_DIR") or config.var_dir(env) / "files" / "residents"
    return ResidentsSettings(files_dir=Path(files_dir))
