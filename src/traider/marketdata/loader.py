"""Load source batches into the `market` tables: validate, quarantine the rejects, bulk-write the rest.

Each batch is one transaction: its quarantined records and its valid rows are committed together or
not at all. Loading the same batch again changes nothing (the bulk writer skips stored rows and the
quarantine keeps each record and reason once), and every raw record is accounted for:
rows in = rows loaded (inserted now or stored before) + rows quarantined.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine

from traider.db.bulk import write_rows
from traider.marketdata.records import Stream
from traider.marketdata.source import Batch
from traider.marketdata.validation import SPIKE_FACTOR, validate
from traider.quality.quarantine import quarantine

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class LoadResult:
    """What loading one or more batches of one stream did."""

    stream: Stream
    rows_in: int = 0
    inserted: int = 0
    already_stored: int = 0
    quarantined: int = 0

    @property
    def loaded(self) -> int:
        """Return the rows now in the table from these batches (inserted now or stored before)."""
        return self.inserted + self.already_stored

    def __add__(self, other: LoadResult) -> LoadResult:
        return LoadResult(
            stream=self.stream,
            rows_in=self.rows_in + other.rows_in,
            inserted=self.inserted + other.inserted,
            already_stored=self.already_stored + other.already_stored,
            quarantined=self.quarantined + other.quarantined,
        )


OnStored = Callable[[Connection, "pd.DataFrame"], None]


def load_batch(
    engine: Engine, batch: Batch, *, spike_factor: float = SPIKE_FACTOR, on_stored: OnStored | None = None
) -> LoadResult:
    """Validate, quarantine and store one batch in one transaction.

    `on_stored(connection, valid_rows)` runs inside that transaction after the rows are written (to
    advance a watermark, say), so it commits with them or not at all.
    """
    validated = validate(batch.stream, batch.frame, source=batch.source, spike_factor=spike_factor)
    rejections = (*batch.rejections, *validated.rejections)
    with engine.begin() as connection:
        quarantined = quarantine(connection, rejections)
        written = write_rows(connection, batch.stream.table, validated.valid) if len(validated.valid) else None
        if on_stored is not None:
            on_stored(connection, validated.valid)
    return LoadResult(
        stream=batch.stream,
        rows_in=batch.rows_in,
        inserted=written.inserted if written else 0,
        already_stored=written.skipped if written else 0,
        quarantined=quarantined,
    )


def load_batches(
    engine: Engine,
    stream: Stream,
    batches: Iterable[Batch],
    *,
    progress: Callable[[LoadResult], None] | None = None,
    on_stored: OnStored | None = None,
) -> LoadResult:
    """Load batches one transaction each; call `progress` with the running total after each."""
    total = LoadResult(stream=stream)
    for batch in batches:
        total += load_batch(engine, batch, on_stored=on_stored)
        if progress is not None:
            progress(total)
    return total
