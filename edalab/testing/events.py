"""Sample Lambda events in the shapes AWS documents, for unit tests of handlers.

Why this exists: a handler unit-tested with a hand-written dict that only has the two keys the
code reads passes, then fails in AWS on the field it forgot (a URL-encoded key, a receive count
that is a string, a body that is a string and not an object). These factories build the whole
event, as the AWS documentation page named in each docstring shows it, with only what a test
cares about as arguments. `tests/test_lab10_testing.py` parses each one with the Powertools
parser models (S3Model, SqsModel, SnsModel, APIGatewayProxyEventModel, EventBridgeModel), so a
shape that drifts from AWS's fails there.

    from edalab.testing import events

    upload = events.s3_put("edalab-tested-uploads", "incoming/o-1.json", size=120)
    batch = events.sqs_batch([upload])            # what an S3 -> SQS notification hands Lambda
    reply = app.handler(batch, LambdaContext())
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime
from urllib.parse import quote_plus

REGION = "us-east-1"
ACCOUNT = "000000000000"


def _now() -> datetime:
    return datetime.now(UTC)


def _iso_ms(moment: datetime) -> str:
    """2026-11-24T04:30:00.123Z, as S3, SNS and API Gateway write times."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _body_text(body) -> str:
    """A message body is always a string: dicts and lists become JSON."""
    return body if isinstance(body, str) else json.dumps(body)


def s3_put(bucket: str, key: str, *, size: int = 0, etag: str | None = None, event_name: str = "ObjectCreated:Put",
           region: str = REGION) -> dict:
    """An S3 event notification for one object created with PUT.

    Shape: "Event message structure", Amazon S3 User Guide,
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
    The key is URL-encoded as S3 sends it (a space arrives as `+`): decode it with
    `urllib.parse.unquote_plus` in the handler.

    >>> event = s3_put("my-bucket", "incoming/a b.json", size=12)
    >>> event["Records"][0]["s3"]["object"]["key"]
    'incoming/a+b.json'
    """
    moment = _now()
    return {"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": _iso_ms(moment),
        "eventName": event_name,
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                             "x-amz-id-2": base64.b64encode(uuid.uuid4().bytes).decode()},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "edalab-notification",
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": "AIDAEXAMPLE"},
                       "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": quote_plus(key, safe="/"), "size": size,
                       "eTag": etag or hashlib.md5(key.encode(), usedforsecurity=False).hexdigest(),
                       "sequencer": f"{int(moment.timestamp() * 1e6):016X}"},
        },
    }]}


def sqs_batch(bodies: list, *, queue: str = "edalab-queue", receive_count: int = 1, region: str = REGION) -> dict:
    """An SQS event source mapping's batch: one record per body (a dict or list is sent as
    JSON text, as SQS only carries strings). `receive_count` is the ApproximateReceiveCount
    of every record (a string, as AWS sends it): 3 is the last try before a DLQ of maxReceiveCount 3.

    Shape: "Using Lambda with Amazon SQS", example standard queue message event,
    https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html

    >>> batch = sqs_batch([{"order_id": "O-1"}], receive_count=3)
    >>> batch["Records"][0]["attributes"]["ApproximateReceiveCount"], batch["Records"][0]["body"]
    ('3', '{"order_id": "O-1"}')
    """
    sent_ms = str(int(_now().timestamp() * 1000))
    records = []
    for body in bodies:
        text = _body_text(body)
        message_id = str(uuid.uuid4())
        records.append({
            "messageId": message_id,
            "receiptHandle": base64.b64encode(f"{message_id}:{queue}".encode()).decode(),
            "body": text,
            "attributes": {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": sent_ms,
                           "SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": sent_ms},
            "messageAttributes": {},
            "md5OfBody": hashlib.md5(text.encode(), usedforsecurity=False).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{region}:{ACCOUNT}:{queue}",
            "awsRegion": region,
        })
    return {"Records": records}


def sns(message, *, topic: str = "edalab-topic", subject: str | None = None, attributes: dict | None = None,
        region: str = REGION) -> dict:
    """An SNS notification delivered to a Lambda subscriber. `attributes` maps a name to a
    string (or a number, sent as a Number attribute); `message` that is not a string is sent as JSON.

    Shape: "Invoking Lambda functions with Amazon SNS notifications", example event,
    https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html

    >>> event = sns({"total": 700}, attributes={"tier": "gold"})
    >>> event["Records"][0]["Sns"]["MessageAttributes"]["tier"]
    {'Type': 'String', 'Value': 'gold'}
    """
    topic_arn = f"arn:aws:sns:{region}:{ACCOUNT}:{topic}"
    return {"Records": [{
        "EventVersion": "1.0",
        "EventSource": "aws:sns",
        "EventSubscriptionArn": f"{topic_arn}:{uuid.uuid4()}",
        "Sns": {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": topic_arn,
            "Subject": subject,
            "Message": _body_text(message),
            "Timestamp": _iso_ms(_now()),
            "SignatureVersion": "1",
            "Signature": base64.b64encode(b"EXAMPLE").decode(),
            "SigningCertUrl": f"https://sns.{region}.amazonaws.com/SimpleNotificationService-EXAMPLE.pem",
            "UnsubscribeUrl": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic_arn}",
            "MessageAttributes": {
                name: {"Type": "Number" if isinstance(value, (int, float)) else "String", "Value": str(value)}
                for name, value in (attributes or {}).items()},
        },
    }]}


def api_gateway_proxy(method: str, path: str, *, body=None, headers: dict | None = None, query: dict | None = None,
                      path_parameters: dict | None = None, resource: str | None = None, stage: str = "dev") -> dict:
    """A REST API (API Gateway v1) Lambda proxy integration request. `body` that is not a
    string (or None) is sent as JSON; `resource` is the route template, e.g. "/items/{id}"
    (default: the path).

    Shape: "Input format of a Lambda function for proxy integration", API Gateway Developer Guide,
    https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format

    >>> event = api_gateway_proxy("PUT", "/items/42", body={"name": "lamp"},
    ...                           path_parameters={"id": "42"}, resource="/items/{id}")
    >>> event["httpMethod"], event["pathParameters"], event["body"]
    ('PUT', {'id': '42'}, '{"name": "lamp"}')
    """
    moment = _now()
    headers = {"Accept": "application/json", "Host": "example.execute-api.us-east-1.amazonaws.com",
               **({"Content-Type": "application/json"} if body is not None else {}), **(headers or {})}
    query = {k: str(v) for k, v in (query or {}).items()} or None
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method.upper(),
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "example",
            "resourceId": "abc123",
            "resourcePath": resource or path,
            "httpMethod": method.upper(),
            "path": f"/{stage}{path}",
            "protocol": "HTTP/1.1",
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "extendedRequestId": uuid.uuid4().hex[:16],
            "requestTime": moment.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(moment.timestamp() * 1000),
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "edalab-tests", "accountId": None, "apiKey": None,
                         "caller": None, "cognitoAuthenticationProvider": None, "cognitoAuthenticationType": None,
                         "cognitoIdentityId": None, "cognitoIdentityPoolId": None, "principalOrgId": None,
                         "user": None, "userArn": None, "accessKey": None},
        },
        "body": None if body is None else _body_text(body),
        "isBase64Encoded": False,
    }


def eventbridge(detail_type: str, detail: dict, *, source: str = "edalab.tests", resources: list | None = None,
                region: str = REGION) -> dict:
    """An EventBridge event as a rule's target (a Lambda function) receives it.

    Shape: "Amazon EventBridge events" (event structure), EventBridge User Guide,
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html

    >>> event = eventbridge("OrderPlaced", {"order_id": "O-1"}, source="shop.orders")
    >>> event["detail-type"], event["source"], event["detail"]
    ('OrderPlaced', 'shop.orders', {'order_id': 'O-1'})
    """
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "time": _now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": list(resources or []),
        "detail": detail,
    }
