from __future__ import annotations

import pytest

from traider.db.url import check_reachable, describe_server, parse_database_url
from traider.errors import ConfigurationError, DatabaseUnreachableError


def test_parse_database_url_pins_psycopg_driver() -> None:
    url = parse_database_url("postgresql://u:p@db.example:6543/traider")
    assert url.drivername == "postgresql+psycopg"
    assert describe_server(url) == "db.example:6543"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("not a url", "malformed"),
        ("mysql://u@h/db", "not PostgreSQL"),
        ("postgresql://u@h:5432", "names no database"),
    ],
)
def test_parse_database_url_malformed_raises_configuration_error(raw: str, expected: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_database_url(raw)
    message = str(caught.value)
    assert "TRAIDER_DATABASE_URL" in message
    assert expected in message
    assert "\n" not in message
    assert caught.value.exit_code == 2


def test_check_reachable_closed_port_names_host_and_hides_password() -> None:
    url = parse_database_url("postgresql://trader:hunter2@127.0.0.1:1/traider")
    with pytest.raises(DatabaseUnreachableError) as caught:
        check_reachable(url, timeout_s=2)
    message = str(caught.value)
    assert "127.0.0.1:1" in message
    assert "TRAIDER_DATABASE_URL" in message
    assert "hunter2" not in message
    assert "\n" not in message
    assert caught.value.exit_code == 2


def test_describe_server_socket_url_names_socket_directory() -> None:
    url = parse_database_url("postgresql://postgres:@/traider?host=/tmp/sockets")
    assert describe_server(url) == "socket /tmp/sockets"
