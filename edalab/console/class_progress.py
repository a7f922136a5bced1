"""Progress of this machine's learners and of a class: read, validate, tabulate.

Why this exists: the Progress page shows the learner records in the console's state folder
(`edalab.learner`'s summary, the same document `make progress FORMAT=json` prints), and lets
an instructor see a class as one table (learner × lab) from several learners' `make progress
FORMAT=json` files, dropped onto the page or found in the folder `EDALAB_CLASS_DIR` names.
Files from learners are input: each is checked (size, JSON, shape) and refused with a sentence
that says what is wrong, never a traceback.

Uploads are read with the standard library's MIME parser (`email`), not `python-multipart`,
which the console does not otherwise need.
"""

from __future__ import annotations

import json
import os
import threading
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path

from edalab.console.forms import Refused
from edalab.learner import LearnerRecord

MAX_FILE_BYTES = 256 * 1024  # one learner's progress is a few KB
MAX_FILES = 200  # a large class
MAX_UPLOAD_BYTES = 4 * 1024 * 1024  # the whole drop: every file and the form around them
STATES = ("complete", "in progress", "not started")


# -- this machine's learners ---------------------------------------------------------------------
def local_learners(folder: Path, labs: list, you: str) -> list[dict]:
    """The summary of every learner with a record in `folder` (usually one: `you`, the name
    `make check` records under), `you` first."""
    if not folder.is_dir():
        return []
    stems = {p.name.removesuffix(".checks.jsonl") for p in folder.glob("*.checks.jsonl")}
    stems |= {p.stem for p in folder.glob("*.json")}
    yours = LearnerRecord(folder, you).path.stem
    summaries = []
    for stem in sorted(stems, key=lambda stem: (stem != yours, stem.lower())):
        record = LearnerRecord(folder, stem)
        summary = record.summary(labs)
        # the name as typed, not its file name (a journal alone keeps only the file name)
        summary["learner"] = you if stem == yours else record.data.get("learner") or stem
        summary["you"] = stem == yours
        summaries.append(summary)
    return summaries


# -- dropped files -------------------------------------------------------------------------------
def uploaded_files(content_type: str, body: bytes) -> list[tuple[str, bytes]]:
    """(file name, bytes) of each file in a multipart/form-data body."""
    if not content_type.lower().startswith("multipart/form-data") or "boundary=" not in content_type:
        raise Refused("Send the files with the form on this page (multipart/form-data).")
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
                                                  + body)
    if not message.is_multipart():
        raise Refused("The upload could not be read as a form with files; use the form on this page.")
    files = []
    for part in message.iter_parts():
        name = part.get_filename()
        if name is None:
            continue
        content = part.get_payload(decode=True) or b""
        if name or content:  # the browser sends one empty part when no file was chosen
            files.append((name or "(no name)", content))
    if not files:
        raise Refused("No file was chosen: drop one or more `make progress FORMAT=json` files, or choose them.")
    if len(files) > MAX_FILES:
        raise Refused(f"{len(files)} files at once; the page takes up to {MAX_FILES}.")
    return files


def progress_document(name: str, content: bytes) -> dict:
    """The file as a progress document, or Refused saying what is wrong with it."""
    if len(content) > MAX_FILE_BYTES:
        raise Refused(f"{name}: {len(content) // 1024:,} KB is more than the {MAX_FILE_BYTES // 1024} KB a progress "
                      f"file can be.")
    try:
        document = json.loads(content.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise Refused(f"{name}: not text, so not a `make progress FORMAT=json` file.") from None
    except ValueError as error:
        raise Refused(f"{name}: not JSON ({error}). Make it with `make progress FORMAT=json > progress.json`.") from None
    problem = _shape_problem(document)
    if problem:
        raise Refused(f"{name}: JSON, but not a `make progress FORMAT=json` file: {problem}.")
    return document


def _shape_problem(document) -> str | None:
    if not isinstance(document, dict):
        return "it is not an object"
    if not isinstance(document.get("learner"), str) or not document["learner"].strip():
        return 'it has no "learner" name'
    if not isinstance(document.get("labs"), list):
        return 'it has no "labs" list'
    for index, entry in enumerate(document["labs"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("lab"), str):
            return f'labs[{index}] has no "lab" number'
        if entry.get("state") not in STATES:
            return f'lab {entry["lab"]}: "state" is {entry.get("state")!r}, not one of {", ".join(STATES)}'
        if not isinstance(entry.get("attempts"), int) or entry["attempts"] < 0:
            return f'lab {entry["lab"]}: "attempts" is not a count'
        hints = entry.get("hints_used", [])
        if not isinstance(hints, list) or not all(isinstance(h, int) for h in hints):
            return f'lab {entry["lab"]}: "hints_used" is not a list of hint numbers'
    return None


def read_uploads(content_type: str, body: bytes) -> list[dict]:
    """Every dropped file as a progress document; all refused (one Refused naming each bad file)
    when any is bad, so a class table never silently misses a learner."""
    documents, problems = [], []
    for name, content in uploaded_files(content_type, body):
        try:
            document = progress_document(name, content)
        except Refused as refused:
            problems.append(str(refused))
            continue
        documents.append({**document, "source": name})
    if problems:
        raise Refused("Nothing was added. " + " ".join(problems))
    return documents


class ClassRoster:
    """The progress files dropped onto this console (kept in memory until cleared or restarted),
    the latest per learner and machine."""

    def __init__(self) -> None:
        self._documents: dict[tuple[str, str], dict] = {}
        self._lock = threading.Lock()

    def add(self, documents: list[dict]) -> None:
        with self._lock:
            for document in documents:
                self._documents[(document["learner"], str(document.get("host", "")))] = document

    def clear(self) -> None:
        with self._lock:
            self._documents.clear()

    def documents(self) -> list[dict]:
        with self._lock:
            return list(self._documents.values())


# -- the class folder ----------------------------------------------------------------------------
def class_dir() -> Path | None:
    folder = os.environ.get("EDALAB_CLASS_DIR", "").strip()
    return Path(folder).expanduser() if folder else None


def folder_documents(folder: Path) -> tuple[list[dict], list[str]]:
    """The progress documents in a folder (its *.json files), and a sentence per file refused."""
    if not folder.is_dir():
        return [], [f"EDALAB_CLASS_DIR is {folder}, which is not a folder."]
    documents, problems = [], []
    for path in sorted(folder.glob("*.json")):
        try:
            documents.append({**progress_document(path.name, path.read_bytes()), "source": str(path)})
        except Refused as refused:
            problems.append(str(refused))
        except OSError as error:
            problems.append(f"{path.name}: could not be read ({error.strerror}).")
    return documents, problems


# -- the table -----------------------------------------------------------------------------------
def lab_cell(entry: dict | None) -> dict:
    """One learner's lab in the class table: its state, attempts and hints."""
    if entry is None:
        return {"state": "not started", "text": "—", "attempts": 0, "hints": []}
    steps = entry.get("last_steps") or []
    passed = sum(1 for s in steps if isinstance(s, dict) and s.get("status") == "passed")
    if entry["state"] == "complete":
        text = "complete"
    elif entry["state"] == "in progress":
        text = f"{passed} of {len(steps)} steps" if steps else "in progress"
    else:
        text = "not started"
    return {"state": entry["state"], "text": text, "attempts": entry["attempts"],
            "hints": entry.get("hints_used", [])}


def class_table(documents: list[dict], labs: list) -> dict:
    """Learner × lab: the labs as columns (the workshop's, then any other a file names), one row
    per learner, sorted by name."""
    numbers = [lab.number for lab in labs]
    numbers += sorted({e["lab"] for d in documents for e in d["labs"]} - set(numbers))
    rows = []
    for document in sorted(documents, key=lambda d: (d["learner"].lower(), str(d.get("host", "")))):
        by_lab = {entry["lab"]: entry for entry in document["labs"]}
        cells = [lab_cell(by_lab.get(number)) for number in numbers]
        rows.append({"learner": document["learner"], "host": document.get("host", ""),
                     "source": document.get("source", ""), "cells": cells,
                     "complete": sum(c["state"] == "complete" for c in cells)})
    return {"labs": numbers, "rows": rows}
