"""The alert: an immutable record of something an operator should know about."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, get_args

Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)


@dataclass(frozen=True)
class Alert:
    """One alert; `context` is JSON-serialisable detail, `dedup_key` groups repeats of the same incident."""

    severity: Severity
    source: str
    message: str
    context: Mapping[str, Any] = field(default_factory=dict, hash=False)
    dedup_key: str | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"alert severity {self.severity!r} is not one of {', '.join(SEVERITIES)}")
        if not self.source.strip():
            raise ValueError("alert source is empty; name the component that raises the alert")
        if not self.message.strip():
            raise ValueError("alert message is empty; say what happened")
        frozen_context = MappingProxyType(dict(self.context))
        try:
            json.dumps(dict(frozen_context))
        except (TypeError, ValueError) as error:
            raise ValueError(f"alert context is not JSON-serialisable ({error})") from error
        object.__setattr__(self, "context", frozen_context)

    @property
    def summary(self) -> str:
        """Return one line naming the severity, source and message."""
        first_line = self.message.strip().splitlines()[0]
        return f"[{self.severity.upper()}] {self.source}: {first_line}"

    def context_json(self) -> str:
        """Return the context, with the dedup key when set, as stored in `ops.alerts.context`."""
        document = dict(self.context)
        if self.dedup_key is not None:
            document.setdefault("dedup_key", self.dedup_key)
        return json.dumps(document, sort_keys=True)
