"""End-to-end test of lab 02's flow, on its copy deployed as stack edalab-10-testing:
an upload to S3 goes through the notification, the queue and the function to a summary and a
status item; an invalid one is retried and parked in the dead-letter queue.

Run it:  .venv/bin/python -m pytest labs/10-testing/tests/test_uploads_e2e.py -q
`make check LAB=10` runs it against the correct handler and against each mutant.
"""

import pytest

from edalab.testing import integration as it  # noqa: F401 - you will need it

STACK = "edalab-10-testing"


def test_a_valid_upload_is_processed_once_and_an_invalid_one_is_dead_lettered_after_3_receives():
    # TODO (lab 10): write me. Upload a valid order and an invalid one to incoming/ of the
    #   stack's bucket (it.stack_outputs(STACK) has its name), then prove, with the helpers of
    #   edalab.testing.integration (README, step 5):
    #   - the valid one is PROCESSED, with the right summary under processed/, and processed ONCE;
    #   - the invalid one reaches the dead-letter queue after exactly 3 receives, REJECTED with a reason.
    #   Clean up what you upload. Then `make check LAB=10` runs this test against broken handlers.
    pytest.fail("write me: the end-to-end test is the lab 10 exercise (labs/10-testing/README.md, step 5)")
