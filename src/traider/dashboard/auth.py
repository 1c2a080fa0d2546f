"""Dashboard login: users and their scrypt password hashes from the environment only, never a default.

`TRAIDER_DASHBOARD_USERS` holds one `name:hash` entry per user, separated by commas or whitespace, where
`hash` is what `traider dashboard hash-password` prints: `scrypt:N:r:p:SALT:KEY` (`hashlib.scrypt`, a random
16-byte salt, a 32-byte key, SALT and KEY in unpadded URL-safe base64). The format has no `$`, so it can be
pasted into a shell, a `.env` file or docker-compose unquoted. With the variable unset or empty there is no
user, and the dashboard refuses to start. Passwords are compared in constant time, an unknown user costs the
same hash as a known one, and a user is locked out for a while after repeated failures.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from traider.errors import ConfigurationError

USERS_VARIABLE = "TRAIDER_DASHBOARD_USERS"
SCHEME = "scrypt"
DEFAULT_N, DEFAULT_R, DEFAULT_P = 2**14, 8, 1
SALT_BYTES, KEY_BYTES = 16, 32
MIN_PASSWORD_LENGTH = 12
MAX_N, MAX_R, MAX_P = 2**18, 16, 4  # bounds on hashes read from the environment (memory and time per login)
USER_NAME = re.compile(r"^[A-Za-z0-9_.@+-]{1,64}$")
_B64 = re.compile(r"^[A-Za-z0-9_-]+$")


class NoUsersError(ConfigurationError):
    """No dashboard user is configured: the dashboard must not start."""


@dataclass(frozen=True)
class PasswordHash:
    """A parsed `scrypt:N:r:p:SALT:KEY` hash."""

    n: int
    r: int
    p: int
    salt: bytes
    key: bytes

    def encode(self) -> str:
        """Return the hash in its text form."""
        return ":".join((SCHEME, str(self.n), str(self.r), str(self.p), _b64(self.salt), _b64(self.key)))

    def matches(self, password: str) -> bool:
        """Return whether `password` derives this key (constant-time comparison)."""
        return hmac.compare_digest(_derive(password, self.salt, self.n, self.r, self.p, len(self.key)), self.key)


def hash_password(password: str, *, n: int = DEFAULT_N, r: int = DEFAULT_R, p: int = DEFAULT_P) -> str:
    """Return the scrypt hash of `password` with a fresh random salt, in its text form."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ConfigurationError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    salt = secrets.token_bytes(SALT_BYTES)
    return PasswordHash(n, r, p, salt, _derive(password, salt, n, r, p, KEY_BYTES)).encode()


def parse_hash(text: str) -> PasswordHash:
    """Parse a hash's text form; raise ValueError (without echoing it) when it is malformed."""
    parts = text.split(":")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise ValueError("not of the form scrypt:N:r:p:SALT:KEY")
    try:
        n, r, p = (int(part) for part in parts[1:4])
    except ValueError as error:
        raise ValueError("N, r and p must be whole numbers") from error
    if not (1 < n <= MAX_N and n & (n - 1) == 0 and 0 < r <= MAX_R and 0 < p <= MAX_P):
        raise ValueError(f"N must be a power of two up to {MAX_N}, r at most {MAX_R} and p at most {MAX_P}")
    salt, key = (_unb64(part) for part in parts[4:6])
    if len(salt) < 8 or len(key) < 16:
        raise ValueError("the salt or the key is too short")
    return PasswordHash(n, r, p, salt, key)


def parse_users(value: str | None) -> dict[str, PasswordHash]:
    """Parse `TRAIDER_DASHBOARD_USERS`; a malformed entry is a ConfigurationError naming the user, not the hash."""
    users: dict[str, PasswordHash] = {}
    for position, entry in enumerate(re.split(r"[,\s]+", (value or "").strip()), start=1):
        if not entry:
            continue
        name, separator, encoded = entry.partition(":")
        if not separator or not USER_NAME.match(name):
            raise ConfigurationError(
                f"{USERS_VARIABLE}: entry {position} is not `name:hash` with a name of letters, digits and _.@+-"
            )
        if name in users:
            raise ConfigurationError(f"{USERS_VARIABLE}: user {name!r} is listed twice")
        try:
            users[name] = parse_hash(encoded)
        except ValueError as error:
            raise ConfigurationError(
                f"{USERS_VARIABLE}: the hash of user {name!r} is malformed ({error}); "
                "make one with `traider dashboard hash-password`"
            ) from None
    return users


def configured_users(environ: Mapping[str, str] | None = None) -> dict[str, PasswordHash]:
    """Return the users of `TRAIDER_DASHBOARD_USERS`; raise NoUsersError when there are none."""
    users = parse_users((os.environ if environ is None else environ).get(USERS_VARIABLE))
    if not users:
        raise NoUsersError(
            f"no dashboard user is configured: set {USERS_VARIABLE} to `name:hash` entries "
            "(make a hash with `traider dashboard hash-password`); there is no default password"
        )
    return users


@dataclass
class LoginThrottle:
    """Locks a user name out for `lockout_s` after `max_failures` failed logins within `window_s`.

    Shared by every session of the dashboard process, so opening a new browser tab does not reset it.
    """

    max_failures: int = 5
    window_s: float = 300.0
    lockout_s: float = 300.0
    _failures: dict[str, list[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def locked_for(self, user: str, now: float | None = None) -> float:
        """Return how many seconds `user` stays locked out (0 when it may try)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            recent = [moment for moment in self._failures.get(user, []) if now - moment < self.window_s]
            self._failures[user] = recent
            if len(recent) < self.max_failures:
                return 0.0
            return max(0.0, recent[-1] + self.lockout_s - now)

    def failed(self, user: str, now: float | None = None) -> None:
        """Count a failed login of `user`."""
        with self._lock:
            self._failures.setdefault(user, []).append(time.monotonic() if now is None else now)

    def succeeded(self, user: str) -> None:
        """Forget the failures of `user`."""
        with self._lock:
            self._failures.pop(user, None)

    def reset(self) -> None:
        """Forget every failure."""
        with self._lock:
            self._failures.clear()


@dataclass(frozen=True)
class LoginResult:
    """The outcome of a login attempt: the user when it succeeded, otherwise why not."""

    user: str | None
    message: str = ""

    @property
    def ok(self) -> bool:
        """Return whether the login succeeded."""
        return self.user is not None


THROTTLE = LoginThrottle()
_DUMMY = PasswordHash(DEFAULT_N, DEFAULT_R, DEFAULT_P, b"traider-dummy-salt", b"\0" * KEY_BYTES)


def authenticate(
    users: Mapping[str, PasswordHash], user: str, password: str, *, throttle: LoginThrottle = THROTTLE
) -> LoginResult:
    """Check `user`'s `password`; unknown users and wrong passwords get the same answer in about the same time."""
    user = user.strip()
    wait = throttle.locked_for(user)
    if wait > 0:
        return LoginResult(None, f"too many failed logins for this user: try again in {wait:.0f} s")
    stored = users.get(user)
    valid = (stored or _DUMMY).matches(password)  # hash even for an unknown user: no timing difference
    if stored is not None and valid and password:
        throttle.succeeded(user)
        return LoginResult(user)
    throttle.failed(user)
    return LoginResult(None, "wrong user name or password")


def _derive(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=128 * r * (n + p + 2) + 2**20, dklen=length
    )


def _b64(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    if not _B64.match(text):
        raise ValueError("the salt and the key must be URL-safe base64")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise ValueError("the salt and the key must be URL-safe base64") from error
