"""DynamoDB on the host engine (moto behind our provider): item operations are atomic under
concurrency, as DynamoDB guarantees, because the idempotency pattern depends on it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import ClientError


def _table_and_clients(engine, name: str):
    engine.client("dynamodb").create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    return name, [engine.client("dynamodb") for _ in range(8)]


def test_only_one_of_many_concurrent_conditional_claims_wins(engine, unique):
    table, clients = _table_and_clients(engine, f"claims-{unique}")

    def claim(n: int, key: str) -> bool:
        try:
            clients[n % len(clients)].put_item(TableName=table, Item={"id": {"S": key}, "by": {"N": str(n)}},
                                               ConditionExpression="attribute_not_exists(id)")
            return True
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ConditionalCheckFailedException"
            return False

    with ThreadPoolExecutor(8) as pool:
        for key in (f"payment-{k}" for k in range(20)):
            winners = sum(pool.map(lambda n: claim(n, key), range(16)))
            assert winners == 1, f"{winners} concurrent claims of {key} succeeded"


def test_concurrent_counter_updates_lose_nothing(engine, unique):
    table, clients = _table_and_clients(engine, f"counters-{unique}")

    def bump(n: int) -> None:
        clients[n % len(clients)].update_item(
            TableName=table, Key={"id": {"S": "c"}}, UpdateExpression="ADD hits :one SET seen = list_append(if_not_exists(seen, :e), :n)",
            ExpressionAttributeValues={":one": {"N": "1"}, ":e": {"L": []}, ":n": {"L": [{"N": str(n)}]}})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(bump, range(200)))
    item = clients[0].get_item(TableName=table, Key={"id": {"S": "c"}})["Item"]
    assert item["hits"] == {"N": "200"}
    assert sorted(int(v["N"]) for v in item["seen"]["L"]) == list(range(200))
