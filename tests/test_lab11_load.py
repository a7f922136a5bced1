"""Lab 11 under load: 2,000 feedback submissions through the API, every one accounted for.

The lab's own load generator (`labs/11-capstone-feedback/load.py`) posts the mix from 8 threads:
10 % invalid (every kind of bad input the lab names, in turn), 5 % duplicated (each delivered to
the store a second time once stored, as SQS redelivers), 1 % unstorable (the store refuses them on
purpose, so each ends in the dead-letter queue after 3 receives). Then, from what the engine
recorded: stored + refused + dead-lettered = sent; nothing stored twice (one item per submission
and one `stored` line per item; every second delivery answered `duplicate`); every low rating
escalated to the support team once; every stored submission's trace complete (intake → queue →
store → table, one correlation id), every unstorable one's ending in the DLQ; the DLQ alarm's email
and SMS sent. Afterwards the run's items, dead letters and escalations are removed, and the test
waits for the alarm to be OK again and deletes its alerts, so the tests after it on the same
worker find lab 11 as it was.

Marked `slow`: `make test` starts it first on one of its workers, beside the rest of the suite;
`make test-quick` leaves it out. Timings are `make bench`'s business (bench/figures_capstone.py),
never asserted here.
"""

from __future__ import annotations

import time

import pytest
from support import deploy_lab

from edalab import aws, labs, mail, sms
from edalab.tracing.build import build
from edalab.tracing.records import read_records
from edalab.waiting import wait_for, wait_for_or_last

pytestmark = pytest.mark.slow

ALARM, SUPPORT_PHONE = "edalab-feedback-dlq-not-empty", "+15555550100"


@pytest.fixture(scope="module")
def load_module(lab_engine):
    lab = labs.find("11")
    deploy_lab(lab, lab_engine.endpoint, solution=True)  # the reference pipeline, with the test settings
    return lab.load_module("load.py")


def alerts(endpoint: str, emails_before: set[str]) -> tuple[list, list]:
    """The DLQ alarm's emails that came since `emails_before`, and every SMS to the support phone."""
    return ([m for m in mail.read_inbox(endpoint) if ALARM in m.body and m.key not in emails_before],
            [text for text in sms.read(endpoint) if text.phone_number == SUPPORT_PHONE])


def alarm_state(endpoint: str) -> str:
    return aws.client("cloudwatch", endpoint).describe_alarms(AlarmNames=[ALARM])["MetricAlarms"][0]["StateValue"]


def test_two_thousand_submissions_are_each_stored_refused_or_dead_lettered_once(lab_engine, load_module):
    endpoint = lab_engine.endpoint
    started_ms = int(time.time() * 1000)
    emails_before = {m.key for m in mail.read_inbox(endpoint)}
    texts_before = alerts(endpoint, emails_before)[1]
    load = load_module.connect(endpoint)
    try:
        load_module.send(load)
        settled = load_module.settle(load, timeout=600)
        accounting = load_module.account(load, settled)

        assert accounting.problems == []
        assert (accounting.sent, accounting.refused, accounting.stored, accounting.dead_lettered) == (
            2_000, 200, 1_780, 20)
        assert accounting.balanced

        # a low rating reaches the support team once, whatever the store did with it afterwards
        low = {s.correlation_id for s in load.accepted if s.rating <= 2}
        escalated = load_module.escalated(load)
        assert set(escalated) == low and set(escalated.values()) == {1}

        # the trace of each, built only from the engine's records (one read for all of them). A
        # function's log lines reach its log group after the invocation ends (the engine ships them a
        # batch per invocation, one function at a time; on AWS too they arrive within seconds): under
        # a loaded machine the intake's last lines can still be on their way once everything is stored
        stored = [s.correlation_id for s in load.of_kind("valid", "duplicate")]

        def traces_now():
            records = read_records(lab_engine.endpoint, since_ms=started_ms - 1_000)
            traces = {s.correlation_id: build(records, s.correlation_id) for s in load.submissions}
            incomplete = {cid: traces[cid].missing for cid in stored if not traces[cid].complete}
            # the refused and the dead-lettered are told by the intake's and the store's lines too
            incomplete |= {s.correlation_id: ["no intake line refused it"] for s in load.of_kind("invalid")
                           if s.headers["X-Correlation-Id"] == s.correlation_id
                           and not traces[s.correlation_id].refused}
            incomplete |= {s.correlation_id: ["not 3 store attempts yet"] for s in load.of_kind("unstorable")
                           if len([hop for hop in traces[s.correlation_id].hops if hop.kind == "store"]) < 3}
            incomplete |= {s.correlation_id: ["no store line answered its second delivery"]
                           for s in load.of_kind("duplicate")
                           if "duplicate" not in [hop.outcome for hop in traces[s.correlation_id].hops]}
            return incomplete, traces

        # past the deadline, the assertion below names what is missing
        incomplete, traces = wait_for_or_last(traces_now, what="every submission's trace to be told by the engine's records",
                                              timeout=120, interval=2, until=lambda got: not got[0])
        assert incomplete == {}
        assert all(traces[s.correlation_id].feedback_ids == [s.feedback_id] for s in load.of_kind("valid", "duplicate"))
        # refused at the door, never queued (a bad correlation id cannot be traced by the one it lacks)
        assert all(traces[s.correlation_id].refused for s in load.of_kind("invalid")
                   if s.headers["X-Correlation-Id"] == s.correlation_id)
        for s in load.of_kind("unstorable"):
            trace = traces[s.correlation_id]
            assert trace.ended_in_dlq and not trace.complete, s.correlation_id
            assert [hop.attempt for hop in trace.hops if hop.kind == "store"] == [1, 2, 3], s.correlation_id
        duplicated = load.of_kind("duplicate")
        assert all([hop.outcome for hop in traces[s.correlation_id].hops if hop.kind == "store"][-1] == "duplicate"
                   for s in duplicated)

        # the dead letters raised the DLQ alarm, which told the support team by email and by SMS
        wait_for(lambda: alerts(endpoint, emails_before), what="the DLQ alarm's email and SMS", timeout=90,
                 interval=1, until=lambda got: got[0] and len(got[1]) > len(texts_before))
    finally:
        load_module.clean_up(load)
        # leave the engine as the run found it: the alarm back to OK (it sends nothing then), its alerts gone
        wait_for(lambda: alarm_state(endpoint), what=f"{ALARM} to be OK again once the DLQ is empty",
                 timeout=120, interval=1, until=lambda state: state == "OK")
        mail.delete(alerts(endpoint, emails_before)[0], endpoint)
        if not texts_before:
            sms.delete(endpoint, SUPPORT_PHONE)
