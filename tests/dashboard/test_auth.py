"""Dashboard login: scrypt hashes from the environment only, no default user, throttled failures; the CLI helper."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from traider.dashboard import auth
from traider.errors import ConfigurationError

PASSWORD = "correct horse battery staple"


def test_a_hash_verifies_its_password_only_and_is_salted() -> None:
    encoded = auth.hash_password(PASSWORD)
    assert encoded.startswith("scrypt:16384:8:1:") and PASSWORD not in encoded
    parsed = auth.parse_hash(encoded)
    assert parsed.matches(PASSWORD)
    assert not parsed.matches(PASSWORD + " ")
    assert not parsed.matches("")
    assert auth.hash_password(PASSWORD) != encoded  # a fresh random salt every time
    assert auth.parse_hash(parsed.encode()) == parsed


def test_short_passwords_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="at least 12"):
        auth.hash_password("hunter2")


def test_right_and_wrong_passwords() -> None:
    users = auth.parse_users(f"alice:{auth.hash_password(PASSWORD)}, bob:{auth.hash_password('another long secret')}")
    throttle = auth.LoginThrottle()
    assert auth.authenticate(users, "alice", PASSWORD, throttle=throttle) == auth.LoginResult("alice")
    assert auth.authenticate(users, " bob ", "another long secret", throttle=throttle).user == "bob"
    wrong = auth.authenticate(users, "alice", "another long secret", throttle=throttle)
    unknown = auth.authenticate(users, "mallory", PASSWORD, throttle=throttle)
    assert not wrong.ok and not unknown.ok
    assert wrong.message == unknown.message == "wrong user name or password"  # no hint which one was wrong


def test_repeated_failures_lock_the_user_out_for_a_while() -> None:
    users = auth.parse_users(f"alice:{auth.hash_password(PASSWORD)}")
    throttle = auth.LoginThrottle(max_failures=3, window_s=60, lockout_s=120)
    for _ in range(3):
        assert not auth.authenticate(users, "alice", "guess-guess-guess", throttle=throttle).ok
    locked = auth.authenticate(users, "alice", PASSWORD, throttle=throttle)
    assert not locked.ok and "too many failed logins" in locked.message
    assert throttle.locked_for("alice") > 100
    assert throttle.locked_for("alice", now=10**9) == 0.0  # the lockout ends


def test_no_users_means_no_dashboard() -> None:
    for value in ({}, {"TRAIDER_DASHBOARD_USERS": ""}, {"TRAIDER_DASHBOARD_USERS": " , \n "}):
        with pytest.raises(auth.NoUsersError, match="no default password"):
            auth.configured_users(value)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("alice", "not `name:hash`"),
        ("alice:secret-password", "hash of user 'alice' is malformed"),
        ("alice:scrypt:16384:8:1:c2FsdHNhbHQ:!!!", "URL-safe base64"),
        ("alice:scrypt:1000:8:1:c2FsdHNhbHQ:" + "A" * 43, "power of two"),
        ("alice:scrypt:2097152:8:1:c2FsdHNhbHQ:" + "A" * 43, "power of two up to"),
        ("al ice:x", "not `name:hash`"),
    ],
)
def test_malformed_user_lists_are_refused_without_echoing_secrets(value: str, fragment: str) -> None:
    with pytest.raises(ConfigurationError, match="TRAIDER_DASHBOARD_USERS") as raised:
        auth.parse_users(value)
    assert fragment in str(raised.value)
    assert "secret-password" not in str(raised.value)


def test_a_user_listed_twice_is_refused() -> None:
    entry = auth.hash_password(PASSWORD)
    with pytest.raises(ConfigurationError, match="listed twice"):
        auth.parse_users(f"alice:{entry}\nalice:{entry}")


def _traider(*arguments: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TRAIDER_")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "traider", *arguments],
        input=stdin,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_cli_hash_password_prints_an_entry_the_dashboard_accepts() -> None:
    result = _traider(
        "dashboard", "hash-password", "--user", "carol", "--password-stdin", env={}, stdin=PASSWORD + "\n"
    )
    assert result.returncode == 0, result.stderr
    entry = result.stdout.strip()
    assert entry.startswith("carol:scrypt:") and PASSWORD not in entry
    users = auth.configured_users({"TRAIDER_DASHBOARD_USERS": entry})
    assert auth.authenticate(users, "carol", PASSWORD, throttle=auth.LoginThrottle()).ok
    short = _traider("dashboard", "hash-password", "--password-stdin", env={}, stdin="short\n")
    assert short.returncode == 2 and "at least 12" in short.stderr


def test_cli_run_refuses_to_start_without_users() -> None:
    result = _traider("dashboard", "run", env={"TRAIDER_DASHBOARD_USERS": ""})
    assert result.returncode == 2
    assert "no dashboard user is configured" in result.stderr and "Traceback" not in result.stderr
