"""
### Ingest public trades

Every 15 minutes, for each enabled venue and symbol in `config/marketdata.yaml`,
fetch the public trades of the
data interval and load them into `market.trades`: validated, bad rows quarantined in `ops.quarantine`,
idempotent (a re-run or a backfill of the same interval changes nothing). Updates the
`market_trades` asset, which schedules `data_quality`. Backfill with
`airflow dags backfill ingest_trades --from-date … --to-date …`.
"""

from __future__ import annotations

from traider.marketdata.records import Stream
from traider.orchestration.ingest_dag import build_ingest_dag

ingest_trades = build_ingest_dag(Stream.TRADES, dag_id="ingest_trades", cron="*/15 * * * *", doc=__doc__)
