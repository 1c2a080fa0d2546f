"""The pieces every emulated venue shares: requests, replies, route matching and parameter parsing."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar


@dataclass(frozen=True)
class Request:
    """One HTTP request, with the path relative to the venue's base URL and the query as a flat dict.

    `query` also holds the parameters of a form-encoded body; `headers` have lower-case names; `raw_query`
    and `raw_body` are the query string and body as sent (what a signed venue request is signed over).
    """

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    raw_query: str = ""
    raw_body: str = ""

    def text(self, name: str, default: str | None = None) -> str | None:
        """Return a query parameter, or `default`."""
        return self.query.get(name, default)

    def integer(self, name: str, default: int | None = None) -> int | None:
        """Return a query parameter as an int (floats are truncated), or `default`; raise ApiError if malformed."""
        raw = self.query.get(name)
        if raw is None or raw == "":
            return default
        try:
            return int(float(raw))
        except ValueError:
            raise ApiError(400, f"parameter {name!r} is not a number: {raw!r}") from None


@dataclass(frozen=True)
class Reply:
    """What the emulator answers: a status and a JSON-serialisable body."""

    status: int
    body: Any


class ApiError(Exception):
    """A request the venue would refuse; the venue app turns it into its own error body."""

    def __init__(self, status: int, message: str, code: int | str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


Handler = Callable[[Request], Any]


class VenueApp:
    """A venue's REST surface: a table of path templates ("{name}" matches one segment) to handlers."""

    name: ClassVar[str] = ""

    def __init__(self) -> None:
        self._routes: list[tuple[str, tuple[str, ...], Handler]] = []

    def route(self, method: str, template: str, handler: Handler) -> None:
        """Register `handler` for requests matching `method` and the path template."""
        self._routes.append((method, tuple(template.strip("/").split("/")), handler))

    def handle(self, request: Request) -> Reply:
        """Answer one request: the handler's body with status 200, a venue error, or 404 naming the path."""
        segments = tuple(request.path.strip("/").split("/"))
        for method, template, handler in self._routes:
            params = _match(template, segments)
            if method == request.method and params is not None:
                bound = replace(request, params=params)
                try:
                    return Reply(200, handler(bound))
                except ApiError as error:
                    return Reply(error.status, self.error_body(error))
        return Reply(404, {"error": f"emulator: no route for {request.method} {request.path}"})

    def error_body(self, error: ApiError) -> Any:
        """Return the venue's JSON error body for a refused request."""
        return {"error": error.message}

    def rate_limit_body(self) -> Any:
        """Return the venue's body of an HTTP 429 answer."""
        return self.error_body(ApiError(429, "Too many requests", code=429))


def _match(template: tuple[str, ...], segments: tuple[str, ...]) -> dict[str, str] | None:
    if len(template) != len(segments):
        return None
    params: dict[str, str] = {}
    for expected, actual in zip(template, segments, strict=True):
        if expected.startswith("{") and expected.endswith("}"):
            params[expected[1:-1]] = actual
        elif expected != actual:
            return None
    return params


def now_ms() -> int:
    """Return the current time in milliseconds."""
    return int(time.time() * 1000)


def bounded_limit(request: Request, name: str, default: int, maximum: int) -> int:
    """Return the request's limit parameter, defaulted and capped like the venue does."""
    value = request.integer(name, default)
    assert value is not None
    if value <= 0:
        raise ApiError(400, f"parameter {name!r} must be positive")
    return min(value, maximum)
