"""
### Ingest funding rates of perpetuals

Every 8 hours, for each enabled venue and symbol in `config/marketdata.yaml`,
fetch the funding rates of perpetuals of the
data interval and load them into `market.funding_rates`: validated, bad rows quarantined in `ops.quarantine`,
idempotent (a re-run or a backfill of the same interval changes nothing). Updates the
`market_funding_rates` asset, which schedules `data_quality`. Backfill with
`airflow dags backfill ingest_funding_rates --from-date … --to-date …`.
"""

from __future__ import annotations

from traider.marketdata.records import Stream
from traider.orchestration.ingest_dag import build_ingest_dag

ingest_funding_rates = build_ingest_dag(
    Stream.FUNDING_RATES, dag_id="ingest_funding_rates", cron="0 */8 * * *", doc=__doc__
)
