"""
### Ingest OHLCV bars

Every hour, for each enabled venue and symbol in `config/marketdata.yaml`,
fetch the OHLCV bars (one target per timeframe) of the
data interval and load them into `market.ohlcv`: validated, bad rows quarantined in `ops.quarantine`,
idempotent (a re-run or a backfill of the same interval changes nothing). Updates the
`market_ohlcv` asset, which schedules `data_quality`. Backfill with
`airflow dags backfill ingest_ohlcv --from-date … --to-date …`.
"""

from __future__ import annotations

from traider.marketdata.records import Stream
from traider.orchestration.ingest_dag import build_ingest_dag

ingest_ohlcv = build_ingest_dag(Stream.OHLCV, dag_id="ingest_ohlcv", cron="0 * * * *", doc=__doc__)
