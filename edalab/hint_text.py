"""Prints a hint (a Markdown section of a lab's hints.md) for a terminal, never cutting code.

Why this exists: rich's Markdown renderer crops code blocks at the console's width (80 columns
when output is not a terminal), and a hint with a long import line lost its end, a comma
included. Code is what a learner copies, so here code blocks are printed verbatim, whatever
their width, and only prose is wrapped: at word boundaries, never inside an `inline code` span,
never breaking a long word (a long command or path stays on one line).
"""

from __future__ import annotations

import re
import shutil
import textwrap

_FENCE = re.compile(r"^\s*```")
_LIST_ITEM = re.compile(r"^(\s*(?:[-*]|\d+\.)\s+)")
_INLINE_CODE = re.compile(r"`[^`]*`")
_GLUE = "\x00"  # stands for a space inside inline code while a paragraph is wrapped


def width() -> int:
    """The terminal's width, kept between 60 and 100 columns for reading."""
    return max(60, min(100, shutil.get_terminal_size((100, 24)).columns))


def render(markdown: str, columns: int | None = None) -> str:
    """The hint as plain text: headings without their #, prose wrapped, code verbatim."""
    columns = columns or width()
    out: list[str] = []
    paragraph: list[str] = []
    in_code = False

    def flush() -> None:
        if paragraph:
            out.extend(_wrap(paragraph, columns))
            paragraph.clear()

    for line in markdown.splitlines():
        if _FENCE.match(line):
            flush()
            in_code = not in_code
            continue  # the fence itself is not shown; the code is
        if in_code:
            out.append(line)
        elif line.lstrip().startswith("#"):
            flush()
            out.append(line.lstrip("# ").strip())
        elif not line.strip():
            flush()
            out.append("")
        elif _LIST_ITEM.match(line):
            flush()
            paragraph.append(line)
        else:
            paragraph.append(line)
    flush()
    return "\n".join(out).strip("\n")


def _wrap(lines: list[str], columns: int) -> list[str]:
    """Wraps one paragraph (or list item with its continuation lines)."""
    text = " ".join(line.strip() for line in lines)
    bullet = _LIST_ITEM.match(lines[0])
    indent = " " * len(bullet.group(1)) if bullet else ""
    glued = _INLINE_CODE.sub(lambda m: m.group(0).replace(" ", _GLUE), text)
    wrapped = textwrap.wrap(glued, columns, subsequent_indent=indent, break_long_words=False,
                            break_on_hyphens=False)
    return [line.replace(_GLUE, " ") for line in wrapped]
