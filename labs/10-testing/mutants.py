"""The broken handlers ("mutants") `make check LAB=10` runs your end-to-end test against.

Why this exists: a test that passes proves little until you have seen it fail on the bug it is
meant to catch. Each mutant is the correct processor (handlers/tested_processor/app.py, lab 02's
reference code) with one small edit that a real bug could make; your test must fail on every
one. Read them: each names the bug and the edit, old text -> new text. The check applies one,
deploys it to edalab-tested-processor, runs your test, and puts the correct code back at the end.
"""

from __future__ import annotations

import io
import zipfile
from typing import NamedTuple

from edalab import aws, bootstrap, settings
from edalab.waiting import wait_for

HANDLER_DIR = settings.REPO_ROOT / "handlers" / "tested_processor"
FUNCTION = "edalab-tested-processor"


class Mutant(NamedTuple):
    name: str
    bug: str  # what it breaks, said so the learner knows which assertion is missing
    edits: tuple[tuple[str, str], ...]  # (old text, new text) in app.py

    def source(self, correct: str) -> str:
        """app.py with this mutant's edits; each old text must be there (so a change of the
        correct code cannot silently turn a mutant into the correct handler)."""
        for old, new in self.edits:
            if old not in correct:
                raise ValueError(f"mutant {self.name}: {old.strip()!r} is not in the processor any more")
            correct = correct.replace(old, new)
        return correct


RAISE = "            print(json.dumps(line))\n            raise\n"

MUTANTS = [
    Mutant("drops-the-record", "acknowledges each message without processing its upload",
           (("            process_upload(bucket, key, attempt)\n",
             "            continue  # MUTANT: the upload is never processed, its message deleted\n"),)),
    Mutant("processes-twice", "processes each upload twice (two summaries written, two 'processed' log lines)",
           (("            process_upload(bucket, key, attempt)\n",
             "            process_upload(bucket, key, attempt)\n"
             "            process_upload(bucket, key, attempt)  # MUTANT: a second time\n"),)),
    Mutant("retries-after-success", "reports every message as failed, even processed ones, so SQS delivers "
           "each valid upload again (processed 3 times, then dead-lettered)",
           (('    return {"batchItemFailures": failures}\n',
             '    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}'
             '  # MUTANT\n'),)),
    Mutant("swallows-the-error", "catches the error of an invalid upload and lets its message be deleted, so "
           "nothing reaches the dead-letter queue",
           ((RAISE, "            print(json.dumps(line))  # MUTANT: no raise, the failure is swallowed\n"),)),
    Mutant("wrong-total", "writes the wrong total: the sum of unit prices, forgetting qty",
           (('"total": round(sum(item["qty"] * item["unit_price"] for item in order["items"]), 2)',
             '"total": round(sum(item["unit_price"] for item in order["items"]), 2)  # MUTANT: no qty'),)),
    Mutant("parks-at-once", "puts an invalid upload's message on the dead-letter queue itself at the first "
           "failure, without the 3 receives the redrive policy asks for",
           ((RAISE,
             "            print(json.dumps(line))\n"
             "            if rejected:  # MUTANT: parks the message in the DLQ at once, and acknowledges it\n"
             "                sqs = boto3.client(\"sqs\")\n"
             "                queue = sqs.get_queue_url(QueueName=record[\"eventSourceARN\"].rsplit(\":\", 1)[-1])\n"
             "                policy = json.loads(sqs.get_queue_attributes(QueueUrl=queue[\"QueueUrl\"], AttributeNames="
             "[\"RedrivePolicy\"])[\"Attributes\"][\"RedrivePolicy\"])\n"
             "                dlq = sqs.get_queue_url(QueueName=policy[\"deadLetterTargetArn\"].rsplit(\":\", 1)[-1])\n"
             "                sqs.send_message(QueueUrl=dlq[\"QueueUrl\"], MessageBody=record[\"body\"])\n"
             "                return\n"
             "            raise\n"),)),
]


def correct_source() -> str:
    return (HANDLER_DIR / "app.py").read_text()


def deploy_source(endpoint: str, source: str | None) -> None:
    """Puts `source` (app.py's text; None: the correct handler) on the function and waits until
    the update is done, so the next message runs the new code."""
    if source is None:
        code = bootstrap.zip_folder(HANDLER_DIR)
    else:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("app.py", source)
        code = buffer.getvalue()
    lam = aws.client("lambda", endpoint)
    lam.update_function_code(FunctionName=FUNCTION, ZipFile=code)
    wait_for(lambda: lam.get_function_configuration(FunctionName=FUNCTION), what=f"{FUNCTION}'s new code",
             timeout=60, until=lambda c: c.get("LastUpdateStatus", "Successful") == "Successful"
             and c.get("State", "Active") == "Active")
