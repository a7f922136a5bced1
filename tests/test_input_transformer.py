"""EventBridge input transformers filled as AWS's "Transforming Amazon EventBridge target input"
shows (its EC2 example event and templates), and falsy values kept (issue #13: LocalStack turned
0 and false into "")."""

from __future__ import annotations

import pytest

from edalab.plugins.events.input_transformer import MISSING, extract_path, path_values, render

EC2_EVENT = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING"},
}
EC2_PATHS = {"instance": "$.detail.instance-id", "state": "$.detail.state"}


def fill(template: str, paths: dict[str, str], event: dict = EC2_EVENT):
    return render(template, path_values(paths, event, reserved=set()))


@pytest.mark.parametrize("template", [
    '{"instance" : <instance>, "state": <state>}',
    '{"instance" : "<instance>", "state": "<state>"}',
    '{"instance" : <instance>, "state": "<state>"}',
])
def test_aws_json_template_examples(template):
    assert fill(template, EC2_PATHS) == {"instance": "i-0123456789", "state": "RUNNING"}


def test_aws_partial_string_example_keeps_escaped_quotes():
    template = '{"instance" : "<instance>", "state": "<state>", "instanceStatus": "instance \\"<instance>\\" is in <state>"}'
    assert fill(template, EC2_PATHS) == {
        "instance": "i-0123456789", "state": "RUNNING", "instanceStatus": 'instance "i-0123456789" is in RUNNING',
    }


def test_aws_string_template_example():
    assert fill('"<instance> is in state <state>"', EC2_PATHS) == "i-0123456789 is in state RUNNING"


def test_object_inside_a_string_loses_its_inner_quotes():
    """AWS: `"Detail <detail>"` with an object gives the object without its internal quotes."""
    text = fill('"Detail <detail>"', {"detail": "$.detail"})
    assert text.startswith("Detail {") and "i-0123456789" in text and '"' not in text


def test_object_outside_quotes_stays_json():
    assert fill('{"detail": <detail>}', {"detail": "$.detail"}) == {"detail": EC2_EVENT["detail"]}


FALSY_EVENT = {**EC2_EVENT, "detail": {"count": 0, "enabled": False, "note": None, "name": "", "items": []}}
FALSY_PATHS = {"count": "$.detail.count", "enabled": "$.detail.enabled", "note": "$.detail.note",
               "name": "$.detail.name"}


def test_falsy_values_keep_their_json_type():
    template = '{"count": <count>, "enabled": <enabled>, "note": <note>, "name": <name>}'
    assert fill(template, FALSY_PATHS, FALSY_EVENT) == {"count": 0, "enabled": False, "note": None, "name": ""}


def test_falsy_values_inside_strings_are_their_text():
    template = '{"summary": "count=<count> enabled=<enabled> note=<note>"}'
    assert fill(template, FALSY_PATHS, FALSY_EVENT) == {"summary": "count=0 enabled=false note=null"}
    assert fill('"count is <count>"', FALSY_PATHS, FALSY_EVENT) == "count is 0"


def test_an_empty_list_is_a_value_and_a_missing_path_is_not():
    assert extract_path(FALSY_EVENT, "$.detail.items") == []
    assert extract_path(FALSY_EVENT, "$.detail.absent") is MISSING
    assert fill('{"items": <items>, "absent": "<absent>"}', {"items": "$.detail.items", "absent": "$.detail.absent"},
                FALSY_EVENT) == {"items": [], "absent": ""}


def test_reserved_names_are_not_taken_from_the_paths_map():
    assert "aws.events.rule-name" not in path_values({"aws.events.rule-name": "$.id"}, EC2_EVENT,
                                                     reserved={"aws.events.rule-name"})
