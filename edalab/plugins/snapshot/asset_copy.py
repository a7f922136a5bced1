"""Copying a service's asset directory while the service may be writing to it.

Why this exists: the baseline is saved from a running engine. CloudWatch keeps its metric data in
a SQLite database in its asset directory (`cloudwatch/metrics.db`), and metrics keep arriving while
the snapshot is taken (the SQS metric coalescer, Lambda's metrics). A plain `shutil.copytree`
listed `metrics.db-journal` (SQLite's rollback journal, there only while a write is under way)
and failed when the write ended before the copy reached it; and a database file copied byte by
byte in the middle of a write can be torn.

So a SQLite database is copied with SQLite's own online backup (a consistent image, taken under
a read lock, whatever other connections do), its journal and WAL companions are left out (the
backup holds everything committed), and any other file that disappears between the listing and
its copy is skipped: it was temporary.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

SQLITE_HEADER = b"SQLite format 3\x00"
SQLITE_COMPANIONS = ("-journal", "-wal", "-shm")  # SQLite's own working files beside a database
BUSY_SECONDS = 30  # how long a backup waits for a writer to finish before it gives up


def is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as head:
            return head.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def copy_file(source: Path, target: Path) -> bool:
    """Copies one file of an asset directory; False when it was gone by then (nothing copied)."""
    if source.name.endswith(SQLITE_COMPANIONS):
        return False
    try:
        if source.is_symlink():  # kept as a link, never followed (as copytree(symlinks=True) did)
            _copy_link(source, target)
        elif is_sqlite(source):
            _backup_sqlite(source, target)
        else:
            shutil.copy2(source, target, follow_symlinks=False)
        return True
    except FileNotFoundError:
        return False
    except sqlite3.OperationalError:
        if not source.exists():
            return False
        raise


def _backup_sqlite(source: Path, target: Path) -> None:
    target.unlink(missing_ok=True)
    live = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True, timeout=BUSY_SECONDS)
    try:
        copy = sqlite3.connect(target)
        try:
            live.backup(copy)
        finally:
            copy.close()
    finally:
        live.close()
    shutil.copystat(source, target)


def copy_assets(source: Path, target: Path) -> None:
    """`source`'s tree under `target` (merged into what is there), consistent for SQLite files."""
    target.mkdir(parents=True, exist_ok=True)
    for folder, dirs, files in os.walk(source):
        here = target / Path(folder).relative_to(source)
        here.mkdir(parents=True, exist_ok=True)
        for name in dirs:
            if (Path(folder) / name).is_symlink():  # os.walk does not go into it: copied as the link it is
                copy_file(Path(folder) / name, here / name)
        for name in files:
            copy_file(Path(folder) / name, here / name)


def _copy_link(source: Path, target: Path) -> None:
    pointing = os.readlink(source)  # FileNotFoundError when it is gone: the caller skips it
    target.unlink(missing_ok=True)
    target.symlink_to(pointing)
