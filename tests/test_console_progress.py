"""The Progress page in a real browser: a check run shows up in the learner's record; two
dropped `make progress FORMAT=json` files make a class table with both learners; a file that
is not JSON gets a message on the page and a 4xx. Below, the checks on dropped files without
a browser."""

from __future__ import annotations

import json
import re

import pytest
from browser import screenshot
from playwright.sync_api import expect

from edalab import labs
from edalab.console import class_progress
from edalab.console.class_progress import Refused
from edalab.learner import LearnerRecord


def _attempts(page, lab: str) -> int:
    cell = page.locator(f'#live section.learner:has(h2:has-text("make check")) tr[data-lab="{lab}"] .attempts')
    return int(cell.inner_text()) if cell.count() else 0


def test_a_check_run_from_the_console_shows_up_in_the_learners_record(console_page):
    console_page.goto("/progress")
    before = _attempts(console_page, "01")
    console_page.goto("/labs/01")
    # a lab checked before shows that check's verdict until the new run's panel replaces it
    with console_page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/labs/01/check")):
        console_page.get_by_role("button", name="Run the check").click()
    expect(console_page.locator("#check")).not_to_contain_text("Your last check")  # this run's panel, not the journal's
    expect(console_page.locator("#check .verdict")).to_be_visible(timeout=60_000)

    console_page.goto("/progress")
    mine = console_page.locator('#live section.learner:has(h2:has-text("make check"))')  # the learner recording here
    row = mine.locator('tr[data-lab="01"]')
    expect(row.locator(".attempts")).to_have_text(str(before + 1))
    expect(row.locator(".state")).to_have_text(re.compile("in progress|complete"))
    expect(row.locator(".steps")).to_contain_text(re.compile(r"\d+ of \d+ steps passed"))
    expect(row.locator("a")).to_have_attribute("href", "/labs/01")


def _progress_file(folder, name: str, passes: bool) -> dict:
    """A learner's `make progress FORMAT=json`, from a journal written as a check run writes it."""
    record = LearnerRecord(folder / name, name)
    steps = [{"number": 1, "title": "one", "status": "passed", "message": "", "hint": None},
             {"number": 2, "title": "two", "status": "passed" if passes else "failed", "message": "no", "hint": 1}]
    record.journal({"event": "check_started", "lab": "02", "at": "2026-11-24T01:00:00Z"})
    for s in steps:
        record.journal({"event": "step_finished", "lab": "02", "at": "2026-11-24T01:00:01Z", **s})
    record.journal({"event": "check_finished", "lab": "02", "at": "2026-11-24T01:03:00Z", "passed": passes,
                    "seconds": 2.0})
    record.reveal_hint("02", 1)
    return record.summary(labs.all_labs())


def test_two_dropped_progress_files_make_a_class_table_and_a_bad_one_gets_a_message(console_page, tmp_path, unique):
    ada, bob = f"Ada {unique}", f"Bob {unique}"
    files = []
    for name, passes in ((ada, True), (bob, False)):
        path = tmp_path / f"progress-{name.split()[0].lower()}.json"
        path.write_text(json.dumps(_progress_file(tmp_path, name, passes), indent=2))
        files.append(path)
    console_page.goto("/progress")
    with console_page.expect_navigation():
        console_page.set_input_files("input[type=file]", files)  # the drop zone sends them at once
    expect(console_page.locator(".flash.ok")).to_have_text("Added 2 progress files to the class table.")
    table = console_page.locator("#class-table")
    ada_row, bob_row = table.locator(f'tr[data-learner="{ada}"]'), table.locator(f'tr[data-learner="{bob}"]')
    lab02 = [lab.number for lab in labs.all_labs()].index("02") + 2  # learner, labs complete, then one column a lab
    expect(ada_row.locator("td").nth(lab02)).to_contain_text("complete")
    expect(ada_row.locator("td").nth(lab02)).to_contain_text("1 attempt · hints 1")
    expect(bob_row.locator("td").nth(lab02)).to_contain_text("1 of 2 steps")
    expect(bob_row.locator("td").nth(1)).to_have_text(f"0 of {len(labs.all_labs())}")
    screenshot(console_page, "progress")

    bad = tmp_path / "notes.json"
    bad.write_text("these are my notes, not JSON")
    with console_page.expect_response(lambda r: r.url.endswith("/progress/class")) as answer:
        console_page.set_input_files("input[type=file]", [bad])
    assert answer.value.status == 400
    expect(console_page.locator(".refused")).to_contain_text("notes.json: not JSON")
    expect(table.locator("tr[data-learner]")).not_to_have_count(0)  # nothing lost by a bad drop

    console_page.get_by_role("button", name=re.compile("Forget the")).click()
    expect(console_page.locator(f'#class-table tr[data-learner="{ada}"]')).to_have_count(0)


# -- without a browser ---------------------------------------------------------------------------
def _form(*files: tuple[str, bytes]) -> tuple[str, bytes]:
    boundary = "----edalabtest"
    body = b""
    for name, content in files:
        body += (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
                 f"Content-Type: application/json\r\n\r\n").encode() + content + b"\r\n"
    return f"multipart/form-data; boundary={boundary}", body + f"--{boundary}--\r\n".encode()


def test_dropped_files_are_read_and_each_bad_one_is_named():
    good = json.dumps({"learner": "Ada", "host": "h", "labs": [{"lab": "01", "state": "complete", "attempts": 2,
                                                                 "hints_used": [1]}]}).encode()
    assert [d["learner"] for d in class_progress.read_uploads(*_form(("a.json", good)))] == ["Ada"]
    with pytest.raises(Refused, match=r"b.json: not JSON.*c.json: JSON, but not .* it has no \"labs\" list"):
        class_progress.read_uploads(*_form(("a.json", good), ("b.json", b"{oops"),
                                           ("c.json", b'{"learner": "Cy"}')))
    with pytest.raises(Refused, match="more than the 256 KB"):
        class_progress.read_uploads(*_form(("big.json", b" " * (256 * 1024 + 1))))
    with pytest.raises(Refused, match="No file was chosen"):
        class_progress.read_uploads(*_form(("", b"")))
    with pytest.raises(Refused, match="multipart/form-data"):
        class_progress.read_uploads("application/json", good)
    with pytest.raises(Refused, match='"state" is \'done\''):
        class_progress.progress_document("d.json", json.dumps(
            {"learner": "D", "labs": [{"lab": "01", "state": "done", "attempts": 1}]}).encode())


def test_a_class_folder_is_read_and_its_bad_files_reported(tmp_path):
    (tmp_path / "ada.json").write_text(json.dumps({"learner": "Ada", "labs": []}))
    (tmp_path / "broken.json").write_text("[")
    documents, problems = class_progress.folder_documents(tmp_path)
    assert [d["learner"] for d in documents] == ["Ada"]
    assert len(problems) == 1 and problems[0].startswith("broken.json: not JSON")
    table = class_progress.class_table(documents, labs.all_labs())
    assert table["rows"][0]["cells"][0] == {"state": "not started", "text": "—", "attempts": 0, "hints": []}


def test_a_class_folder_named_by_edalab_class_dir_is_shown_as_the_class(chromium, lab_engine, tmp_path, monkeypatch):
    from browser import start_console

    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "cy.json").write_text(json.dumps(_progress_file(tmp_path, "Cy", True)))
    (folder / "broken.json").write_text("{")
    monkeypatch.setenv("EDALAB_CLASS_DIR", str(folder))
    running = start_console(lab_engine.endpoint, tmp_path / "state", tmp_path / "console.log")
    context = chromium.new_context(base_url=running.url)
    try:
        page = context.new_page()
        page.goto("/progress")
        expect(page.locator('#class-table tr[data-learner="Cy"]')).to_contain_text("complete")
        expect(page.locator("#class-table .flash.bad")).to_contain_text("broken.json: not JSON")
        (folder / "dee.json").write_text(json.dumps(_progress_file(tmp_path, "Dee", False)))
        expect(page.locator('#class-table tr[data-learner="Dee"]')).to_have_count(1, timeout=8_000)  # polled
    finally:
        context.close()
        running.process.terminate()
        running.process.wait(timeout=10)
