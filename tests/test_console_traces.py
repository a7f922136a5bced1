"""The console's Traces page in a real browser: lab 11's correlation ids appear with their outcome
without a reload; a stored submission's waterfall draws intake → queue → store → table; an unstorable
one's draws three store attempts and a red DLQ ending; an unknown or malformed id gets a page that
says where ids come from."""

from __future__ import annotations

from browser import screenshot
from playwright.sync_api import expect

from edalab.queue_cleanup import remove_messages
from support import FAST_PARAMETERS
from test_tracing import STACK, pipeline, post  # noqa: F401 - pipeline is a fixture

FEEDBACK = {"name": "Grace", "email": "grace@example.com", "rating": 5, "message": "Lovely."}


def test_traces_list_and_waterfalls_of_a_stored_and_a_dead_lettered_submission(console_page, pipeline, lab_engine,
                                                                               unique):
    good, poison = f"console-ok-{unique}", f"console-dlq-{unique}"
    page = console_page
    page.goto("/traces")
    expect(page.locator("nav a.here")).to_have_text("Traces")
    assert post(pipeline, {**FEEDBACK, "order_id": "B-7"}, good)[0] == 202
    assert post(pipeline, {**FEEDBACK, "order_id": ""}, poison)[0] == 202  # the table's index refuses ""
    dlq_url = lab_engine.client("sqs").get_queue_url(QueueName="edalab-feedback-dlq")["QueueUrl"]
    visibility = int(FAST_PARAMETERS[STACK]["VisibilityTimeout"])
    try:
        stored_row = page.locator(f'tr[data-correlation-id="{good}"]')  # the list polls: no reload
        expect(stored_row).to_have_attribute("data-outcome", "stored", timeout=30_000)
        parked_row = page.locator(f'tr[data-correlation-id="{poison}"]')
        expect(parked_row).to_have_attribute("data-outcome", "dead-lettered", timeout=(30 + 4 * visibility) * 1000)
        expect(parked_row.locator(".trace-outcome")).to_have_css("background-color", "rgb(198, 40, 40)")
        expect(parked_row).to_contain_text("3 store attempts")
        screenshot(page, "traces")

        stored_row.locator("a").click()
        expect(page).to_have_url(f"{page.url.split('/traces')[0]}/traces/{good}")
        waterfall = page.locator("#waterfall svg.waterfall")
        expect(waterfall).to_have_attribute("data-outcome", "stored")
        hops = waterfall.locator("g.hop")
        assert [hops.nth(n).get_attribute("data-kind") for n in range(hops.count())] == \
            ["intake", "queue", "store", "table"]
        assert {hops.nth(n).get_attribute("data-correlation-id") for n in range(hops.count())} == {good}
        expect(waterfall.locator("rect.bar")).to_have_count(4)
        expect(page.locator("#trace-outcome")).to_have_text("stored")
        expect(page.locator("table.trace-hops")).to_contain_text("/aws/lambda/feedback-store")
        screenshot(page, "trace-stored")

        page.goto(f"/traces/{poison}")
        waterfall = page.locator("#waterfall svg.waterfall")
        expect(waterfall).to_have_attribute("data-outcome", "dead-lettered")
        stores = waterfall.locator('g.hop[data-kind="store"]')
        assert [stores.nth(n).get_attribute("data-attempt") for n in range(stores.count())] == ["1", "2", "3"]
        assert {stores.nth(n).get_attribute("data-outcome") for n in range(stores.count())} == {"failed"}
        ending = waterfall.locator("g.hop").last
        expect(ending).to_have_attribute("data-kind", "dlq")
        expect(ending.locator("polygon.dlq-marker")).to_have_attribute("fill", "#c62828")
        expect(ending.locator(".hop-outcome")).to_have_css("fill", "rgb(198, 40, 40)")
        expect(page.locator("#trace-outcome")).to_have_css("background-color", "rgb(198, 40, 40)")
        expect(page.locator('table.trace-hops tr[data-kind="dlq"]')).to_contain_text("dead-lettered after 3 failed receives")
        screenshot(page, "trace-dead-lettered")

        answer = page.goto(f"/traces/nobody-{unique}")
        assert answer.status == 404
        expect(page.locator("body")).to_contain_text("X-Correlation-Id")
        answer = page.goto("/traces/not%20an%20id")
        assert answer.status == 400
        expect(page.locator("body")).to_contain_text("cannot be a correlation id")
    finally:
        remove_messages(lab_engine.client("sqs"), dlq_url, lambda body: poison in body)
