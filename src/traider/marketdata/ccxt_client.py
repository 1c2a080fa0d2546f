"""Building synchronous ccxt exchanges for TRAIDER and calling them with retries.

`make_exchange` creates the exchange with ccxt's rate limiter on and, given `api_base_url`, every URL
in `exchange.urls['api']` rewritten to it (scheme and host replaced, path kept) — how the tests and the
demo point ccxt at the local exchange emulator. `call_with_retries` retries with exponential backoff
on what is worth retrying: network errors, timeouts, 429 and 5xx answers (ccxt's NetworkError family)
and malformed answers (BadResponse; ccxt returns truncated JSON silently, so it is detected here), and
raises `FetchError` with a one-line message when the attempts are used up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import ccxt

from traider.errors import TraiderError

T = TypeVar("T")

MARKET_TYPES = {
    ("binance", "spot"): ["spot"],
    ("bybit", "spot"): ["spot"],
    ("bybit", "swap"): ["linear", "inverse"],
    ("binanceusdm", "swap"): ["linear"],
}


class FetchError(TraiderError):
    """A venue request failed for good: not retryable, or still failing after every retry."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry: delay = min(max_delay_s, base_delay_s * multiplier**(attempt-1))."""

    attempts: int = 5
    base_delay_s: float = 0.5
    multiplier: float = 2.0
    max_delay_s: float = 30.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("a retry policy needs at least one attempt")

    def delay(self, attempt: int) -> float:
        """Return the pause after failed attempt number `attempt` (1-based)."""
        return float(min(self.max_delay_s, self.base_delay_s * self.multiplier ** (attempt - 1)))


def rewrite_api_urls(urls: Any, base_url: str) -> Any:
    """Return `urls` (a string or nested dict of strings) with each URL's scheme and host replaced by `base_url`."""
    if isinstance(urls, str):
        return base_url.rstrip("/") + urlsplit(urls).path
    if isinstance(urls, dict):
        return {key: rewrite_api_urls(value, base_url) for key, value in urls.items()}
    return urls


def make_exchange(
    ccxt_id: str,
    *,
    market_type: str = "spot",
    api_base_url: str | None = None,
    timeout_ms: int = 10_000,
    rate_limit_ms: int | None = None,
) -> Any:
    """Return a synchronous ccxt exchange with the rate limiter on, optionally pointed at `api_base_url`."""
    config: dict[str, Any] = {"enableRateLimit": True, "timeout": timeout_ms, "enableLastJsonResponse": True}
    if rate_limit_ms is not None:
        config["rateLimit"] = rate_limit_ms
    types = MARKET_TYPES.get((ccxt_id, market_type))
    if types is not None:
        config["options"] = {"fetchMarkets": {"types": types}}
    exchange = getattr(ccxt, ccxt_id)(config)
    if api_base_url is not None:
        exchange.urls["api"] = rewrite_api_urls(exchange.urls["api"], api_base_url)
    return exchange


def truncated_answer(exchange: Any) -> bool:
    """Return True when the exchange's last answer looked like JSON but did not parse."""
    body = getattr(exchange, "last_http_response", None)
    return isinstance(body, str) and body.lstrip()[:1] in ("{", "[") and exchange.last_json_response is None


def call_with_retries(
    call: Callable[[], T],
    *,
    exchange: Any,
    what: str,
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run one ccxt call, retrying transient failures with exponential backoff; raise FetchError when done trying."""
    last: Exception | None = None
    for attempt in range(1, policy.attempts + 1):
        exchange.last_http_response = None
        exchange.last_json_response = None
        try:
            result = call()
            if truncated_answer(exchange):
                raise ccxt.BadResponse(f"{exchange.id} answered malformed or truncated JSON")
            return result
        except (ccxt.NetworkError, ccxt.BadResponse) as error:
            last = error
        except ccxt.BaseError as error:
            raise FetchError(f"{what}: {type(error).__name__}: {_one_line(error)} (not retried)") from error
        except (TypeError, ValueError, KeyError, AttributeError, IndexError) as error:
            if not truncated_answer(exchange):
                raise
            last = ccxt.BadResponse(f"{exchange.id} answered malformed or truncated JSON ({type(error).__name__})")
        if attempt < policy.attempts:
            sleep(policy.delay(attempt))
    assert last is not None
    message = f"{what}: gave up after {policy.attempts} attempts; last error {type(last).__name__}: {_one_line(last)}"
    raise FetchError(message) from last


def _one_line(error: BaseException, limit: int = 240) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
