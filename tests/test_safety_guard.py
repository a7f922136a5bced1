"""The guard: nothing in EDA Lab talks to a non-local endpoint or signs with real credentials."""

from __future__ import annotations

import socket

import pytest

from edalab import aws, cli
from edalab.safety import UnsafeEndpointError, is_local_endpoint

REAL_LOOKING = {
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEXAMPLE",
    "AWS_PROFILE": "production",
}


@pytest.mark.parametrize(
    "url",
    ["http://localhost:4566", "http://127.0.0.1:4566", "http://[::1]:4566", "http://localstack:4566",
     "http://127.10.0.3:9999", "https://localhost"],
)
def test_local_endpoints_are_allowed(url):
    assert is_local_endpoint(url)


@pytest.mark.parametrize(
    "url",
    ["https://sqs.us-east-1.amazonaws.com", "http://10.0.0.5:4566", "http://192.168.1.20:4566",
     "http://localhost.evil.example.com", "http://example.com", "ftp://localhost", "localhost:4566", ""],
)
def test_other_endpoints_are_refused(url):
    assert not is_local_endpoint(url)


@pytest.fixture
def no_network(monkeypatch):
    """Fails the test if anything opens a connection."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"a connection was attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_a_client_for_a_remote_endpoint_is_refused_before_anything_is_sent(no_network):
    with pytest.raises(UnsafeEndpointError, match="Refusing"):
        aws.client("sqs", "https://sqs.us-east-1.amazonaws.com").list_queues()


@pytest.mark.parametrize("command", ["up", "down", "status", "logs", "bootstrap"])
def test_every_command_refuses_a_remote_endpoint_with_real_looking_credentials(
    command, monkeypatch, capsys, no_network
):
    for name, value in REAL_LOOKING.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("EDALAB_ENDPOINT", "https://dynamodb.eu-west-1.amazonaws.com")
    assert cli.main([command]) == 3
    out = capsys.readouterr().out
    assert "Refusing" in out and "EDALAB_ENDPOINT" in out


def test_clients_sign_with_dummy_credentials_whatever_the_environment_holds(monkeypatch):
    for name, value in REAL_LOOKING.items():
        monkeypatch.setenv(name, value)
    client = aws.client("s3", "http://localhost:4566")
    credentials = client._request_signer._credentials  # what the client will sign with
    assert (credentials.access_key, credentials.secret_key) == ("test", "test")
    assert credentials.token is None
    assert client.meta.region_name == "us-east-1"
