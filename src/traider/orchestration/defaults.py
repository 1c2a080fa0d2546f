"""Defaults every TRAIDER DAG uses: owner, retries, start date."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum

# Early enough that any historical interval can be backfilled; catchup is off, so nothing runs by itself.
START_DATE = pendulum.datetime(2010, 1, 1, tz="UTC")

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "traider-data",
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
}
