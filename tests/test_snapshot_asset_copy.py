"""The baseline copies a service's asset directory while the service writes to it.

CloudWatch keeps its metrics in SQLite (`cloudwatch/metrics.db`), written while the baseline is
saved. A plain copy of the folder lists SQLite's rollback journal and fails when the write ends
first (seen: `baseline.save` refused with "No such file or directory: …/metrics.db-journal"); the
first test shows that fault under a busy writer, the second that `asset_copy` takes a consistent
copy every time under the same writer.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from edalab.plugins.snapshot.asset_copy import copy_assets, copy_file


@pytest.fixture
def busy_database(tmp_path):
    """An asset folder whose SQLite database gets a committed insert every millisecond or so (each
    its own connection and transaction, as CloudWatch's writer does) until the test ends."""
    folder = tmp_path / "cloudwatch"
    folder.mkdir()
    (folder / "notes.txt").write_text("a plain file beside it")
    database = folder / "metrics.db"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE points (n INTEGER)")
    stop, written = threading.Event(), [0]

    def write():
        while not stop.is_set():
            with sqlite3.connect(database, timeout=30) as conn:
                conn.execute("INSERT INTO points VALUES (?)", (written[0],))
            written[0] += 1
            stop.wait(0.001)  # a busy service, not one that never lets a reader in

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    yield folder, written
    stop.set()
    writer.join(10)


def rows(database: Path) -> int:
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return conn.execute("SELECT COUNT(*) FROM points").fetchone()[0]


def test_a_plain_copy_of_a_folder_being_written_fails(busy_database, tmp_path):
    folder, _ = busy_database
    deadline, attempt = time.monotonic() + 20, 0
    while time.monotonic() < deadline:
        attempt += 1
        try:
            shutil.copytree(folder, tmp_path / f"plain-{attempt}", symlinks=True)
        except shutil.Error as error:
            assert "-journal" in str(error)  # listed, then gone before it was copied
            return
    pytest.fail(f"{attempt} plain copies all succeeded under a busy writer")


def test_the_asset_copy_is_consistent_every_time_under_the_same_writer(busy_database, tmp_path):
    folder, written = busy_database
    counts, started_at = [], written[0]
    for attempt in range(150):
        target = tmp_path / f"copy-{attempt}"
        copy_assets(folder, target)
        assert sorted(p.name for p in target.iterdir()) == ["metrics.db", "notes.txt"]  # no journal copied
        counts.append(rows(target / "metrics.db"))
    assert counts == sorted(counts)  # each copy holds every insert committed before it
    assert written[0] > started_at + 100, "the writer hardly wrote: the copies were not taken under writes"


def test_a_file_gone_before_its_copy_and_sqlites_companions_are_skipped(tmp_path):
    assert copy_file(tmp_path / "was-here.tmp", tmp_path / "copy.tmp") is False
    journal = tmp_path / "metrics.db-journal"
    journal.write_bytes(b"half a transaction")
    assert copy_file(journal, tmp_path / "copied-journal") is False
    assert not (tmp_path / "copied-journal").exists()
