"""The original bytes of indexed PDFs, kept in the database for the citation viewer.

Every replica reads the same rows, so a cited page opens on any of them. Older versions kept
originals on the replica's disk under ``<data_dir>/originals/<collection>/<sha256>.pdf``
(:func:`chatapp.services.page_view.original_path`); such a file is moved into the database
the first time it is needed (:func:`load`) or at server start (:func:`import_disk_originals`),
and its disk copy removed, so nothing is lost on upgrade.

Every function takes ``owner=`` and touches only that user's collections.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from chatapp.services import page_view
from chatapp.storage import documents as repo
from chatapp.storage import originals as rows
from chatapp.storage.db import session_scope

log = logging.getLogger(__name__)


def keep(engine: Engine, collection_id: str, sha256: str, data: bytes, *, owner: str) -> bool:
    """Keep an indexed PDF's bytes for ``owner``'s collection; False when it is not theirs."""
    with session_scope(engine) as session:
        if repo.get_collection(session, collection_id, owner) is None:
            return False
        rows.save(session, collection_id, sha256, data)
    return True


def load(
    engine: Engine, data_dir: Path, collection_id: str, sha256: str, *, owner: str
) -> bytes | None:
    """An indexed PDF's bytes (None when none is kept or the collection is not ``owner``'s).

    A copy an older version left on this replica's disk is moved into the database first.
    """
    with session_scope(engine) as session:
        if repo.get_collection(session, collection_id, owner) is None:
            return None
        data = rows.load(session, collection_id, sha256)
    if data is not None:
        return data
    return _move_from_disk(engine, data_dir, collection_id, sha256)


def remove(engine: Engine, data_dir: Path, collection_id: str, sha256: str, *, owner: str) -> None:
    """Forget a removed file's original, in the database and any old disk copy."""
    with session_scope(engine) as session:
        if repo.get_collection(session, collection_id, owner) is None:
            return
        rows.delete(session, collection_id, sha256)
    with contextlib.suppress(ValueError):  # not a file hash: there is no such disk copy
        page_view.remove_original(data_dir, collection_id, sha256)


def import_disk_originals(engine: Engine, data_dir: Path) -> int:
    """Move every original an older version kept on disk into the database; returns how many.

    Run at server start. A file whose collection no longer exists is left where it is.
    """
    root = Path(data_dir) / page_view.ORIGINALS
    if not root.is_dir():
        return 0
    moved = 0
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.pdf")):
            if _move_from_disk(engine, data_dir, folder.name, path.stem) is not None:
                moved += 1
        with contextlib.suppress(OSError):
            folder.rmdir()  # only when empty
    return moved


def _move_from_disk(
    engine: Engine, data_dir: Path, collection_id: str, sha256: str
) -> bytes | None:
    try:
        path = page_view.original_path(data_dir, collection_id, sha256)
    except ValueError:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        with session_scope(engine) as session:
            if session.get(repo.Collection, collection_id) is None:
                return None
            if rows.load(session, collection_id, sha256) is None:
                rows.save(session, collection_id, sha256, data)
    except IntegrityError:  # another process moved the same file at the same moment
        pass
    path.unlink(missing_ok=True)
    log.info("Moved a kept PDF original from the data directory into the database.")
    return data
