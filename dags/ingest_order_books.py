"""
### Ingest L2 order-book snapshots

Every 15 minutes, for each enabled venue and symbol in `config/marketdata.yaml`,
fetch the L2 order-book snapshots of the
data interval and load them into `market.book_snapshots`: validated, bad rows quarantined in `ops.quarantine`,
idempotent (a re-run or a backfill of the same interval changes nothing). Updates the
`market_book_snapshots` asset, which schedules `data_quality`. Backfill with
`airflow dags backfill ingest_order_books --from-date … --to-date …`.
"""

from __future__ import annotations

from traider.marketdata.records import Stream
from traider.orchestration.ingest_dag import build_ingest_dag

ingest_order_books = build_ingest_dag(
    Stream.BOOK_SNAPSHOTS, dag_id="ingest_order_books", cron="*/15 * * * *", doc=__doc__
)
