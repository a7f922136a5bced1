"""A lab's own tools (`make traffic`, `experiment`, `report`, `drill`): found in its folder,
refused with the labs that have one when the chosen lab has none, and loaded as a module."""

from __future__ import annotations

import argparse

import pytest

from edalab import lab_commands
from edalab.labs import Lab


def test_a_lab_without_the_tool_is_refused_naming_the_labs_that_have_it():
    with pytest.raises(lab_commands.NoSuchLabCommand) as refused:
        lab_commands.find("03", "traffic")
    assert "lab 03" in str(refused.value) and "LAB=07" in str(refused.value)
    with pytest.raises(lab_commands.NoSuchLabCommand, match="Say which lab: `make drill` belongs to LAB=09"):
        lab_commands.find(None, "drill")


def test_each_tool_belongs_to_its_lab():
    assert [lab.number for lab in lab_commands.labs_with("traffic")] == ["07"]
    assert [lab.number for lab in lab_commands.labs_with("experiment")] == ["08"]
    assert [lab.number for lab in lab_commands.labs_with("drill")] == ["09"]


def test_a_tool_with_postponed_annotations_and_a_dataclass_loads(tmp_path):
    """As `import` would: the module is registered before it runs (dataclasses look it up)."""
    (tmp_path / "traffic.py").write_text(
        "from __future__ import annotations\n"
        "from dataclasses import dataclass\n\n"
        "@dataclass\nclass Mix:\n    good: int\n\n"
        "def run(endpoint, args, say):\n    say(f'{Mix(args.rate).good} to {endpoint}')\n    return 0\n")
    said = []
    module = Lab(tmp_path, "A tool", "").load_module("traffic.py")
    assert module.run("http://127.0.0.1:1", argparse.Namespace(rate=3), said.append) == 0
    assert said == ["3 to http://127.0.0.1:1"]
