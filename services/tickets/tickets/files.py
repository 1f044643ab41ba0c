"""Where attachment files live: a local folder by default (GUANJIA_TICKETS_FILES_DIR); keys are opaque."""

from __future__ import annotations

from pathlib import Path

from guanjia.db import new_id


class LocalFileStore:
    """Files under one folder, named by a generated key (never by the uploaded file name)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def put(self, stream, max_bytes: int) -> tuple[str, int]:
        """Store the stream; returns (storage key, size). Raises ValueError above max_bytes (nothing is kept)."""
        key = f"{new_id()[:2]}/{new_id()}"
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        size = 0
        try:
            with path.open("wb") as out:
                while chunk := stream.read(64 * 1024):
                    size += len(chunk)
                    if size > max_bytes:
                        raise ValueError(f"larger than {max_bytes} bytes")
                    out.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return key, size

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError("bad storage key")
        return path

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)
