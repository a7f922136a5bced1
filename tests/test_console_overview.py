"""The console in a real browser: the overview lists every lab and refreshes itself."""

from __future__ import annotations

from browser import screenshot

from edalab import labs


def test_the_overview_lists_every_lab_with_its_stack(console_page):
    console_page.goto("/")
    for lab in labs.all_labs():
        assert console_page.get_by_text(f"{lab.number} · {lab.title}").count() == 1
    assert console_page.locator("#live").get_attribute("hx-trigger") == "every 2s"
    screenshot(console_page, "overview")
