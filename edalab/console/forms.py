"""What every console form shares: reading a posted form safely, and refusing with a reason.

Why this exists: pages take input (a message to send, a payload to invoke, files dropped by an
instructor). Each must answer bad input with a sentence saying what to fix and a 4xx status,
never a traceback, and must not read a body far over its limit into memory. `Refused` carries
the sentence and the status; `read_form` reads a url-encoded form (what htmx and plain forms
post) with the standard library's parser, so the console needs no multipart library for it.
"""

from __future__ import annotations

import urllib.parse


class Refused(ValueError):
    """Input the console will not act on; `str()` says why in plain words, `status` is the 4xx."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


async def read_form(request, limit: int) -> dict[str, str]:
    """The posted form's fields (the last value of each). A body over `limit` bytes is refused
    (413) before it is read whenever its length is declared."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Refused(f"The form is {int(declared):,} bytes; the console reads at most {limit:,}.", status=413)
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind not in ("application/x-www-form-urlencoded", ""):
        raise Refused(f"The console reads url-encoded forms, not {kind}.", status=415)
    body = await request.body()
    if len(body) > limit:
        raise Refused(f"The form is {len(body):,} bytes; the console reads at most {limit:,}.", status=413)
    try:
        fields = urllib.parse.parse_qs(body.decode(), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise Refused("The form is not UTF-8 text.") from None
    return {name: values[-1] for name, values in fields.items()}
