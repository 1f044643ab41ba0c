"""Community-owned settings: where activity photos are kept (GUANJIA_COMMUNITY_FILES_DIR)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from guanjia import config


@dataclasses.dataclass(frozen=True)
class CommunitySettings:
    # Activity photos live in this local folder; default <var>/files/community.
    files_dir: Path = Path("var") / "files" / "community"


def from_env(env=None) -> CommunitySettings:
    """CommunitySettings from the environment (documented in docs/community.md)."""
    env = os.environ if env is None else env
    files_dir = env.get("GUANJIA_COMMUNITY_FILES_DIR") or config.var_dir(env) / "files" / "community"
    return CommunitySettings(files_dir=Path(files_dir))
