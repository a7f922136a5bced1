"""API Gateway REST (Lambda proxy) -> Lambda -> DynamoDB over plain HTTP, and a CloudWatch
alarm on a queue metric whose SNS action really delivers."""

from __future__ import annotations

from edalab.checks import http
from edalab.waiting import wait_for
from support import allow_service_to_send, bodies, create_function, create_queue, receive_all


def _http(method: str, url: str, body: dict | None = None) -> tuple[int, object]:
    reply = http(method, url, body)
    return reply.status, reply.body


def test_rest_api_proxies_to_lambda_which_stores_in_dynamodb(engine, unique):
    apigw, lam, ddb = engine.client("apigateway"), engine.client("lambda"), engine.client("dynamodb")
    table = f"items-{unique}"
    ddb.create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    name = f"probe-api-{unique}"
    fn_arn = create_function(lam, name, "probe.py", env={"TABLE_NAME": table})
    api = apigw.create_rest_api(name=f"api-{unique}")["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    items = apigw.create_resource(restApiId=api, parentId=root, pathPart="items")["id"]
    one = apigw.create_resource(restApiId=api, parentId=items, pathPart="{id}")["id"]
    uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{fn_arn}/invocations"
    for resource, verb in ((items, "POST"), (one, "GET")):
        apigw.put_method(restApiId=api, resourceId=resource, httpMethod=verb, authorizationType="NONE")
        apigw.put_integration(restApiId=api, resourceId=resource, httpMethod=verb,
                              type="AWS_PROXY", integrationHttpMethod="POST", uri=uri)
    lam.add_permission(FunctionName=name, StatementId="apigw", Action="lambda:InvokeFunction",
                       Principal="apigateway.amazonaws.com")
    apigw.create_deployment(restApiId=api, stageName="dev")
    base = f"{engine.endpoint}/_aws/execute-api/{api}/dev"

    assert _http("POST", f"{base}/items", {"id": "a1", "name": "lamp"}) == (201, {"id": "a1", "name": "lamp"})
    assert _http("GET", f"{base}/items/a1") == (200, {"id": "a1", "name": "lamp"})
    assert _http("GET", f"{base}/items/nope")[0] == 404
    stored = ddb.get_item(TableName=table, Key={"id": {"S": "a1"}})["Item"]
    assert stored == {"id": {"S": "a1"}, "name": {"S": "lamp"}}


def test_alarm_on_queue_depth_fires_and_its_sns_action_delivers(engine, unique):
    sqs, sns, cloudwatch = engine.client("sqs"), engine.client("sns"), engine.client("cloudwatch")
    watched_url, _ = create_queue(sqs, f"watched-{unique}")
    alerts_url, alerts_arn = create_queue(sqs, f"alerts-{unique}")
    allow_service_to_send(sqs, alerts_url, alerts_arn, "sns.amazonaws.com")
    topic = sns.create_topic(Name=f"alerts-{unique}")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=alerts_arn, Attributes={"RawMessageDelivery": "true"})
    alarm = f"backlog-{unique}"
    cloudwatch.put_metric_alarm(
        AlarmName=alarm, Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": f"watched-{unique}"}],
        Statistic="Maximum", Period=10, EvaluationPeriods=1, Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold", AlarmActions=[topic],
    )
    sqs.send_message(QueueUrl=watched_url, MessageBody="stuck")

    wait_for(
        lambda: cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["StateValue"],
        what=f"alarm {alarm} to go to ALARM", timeout=60, interval=0.5, until=lambda s: s == "ALARM",
    )
    [notification] = bodies(receive_all(sqs, alerts_url, expected=1, timeout=30))
    assert notification["AlarmName"] == alarm and notification["NewStateValue"] == "ALARM"
