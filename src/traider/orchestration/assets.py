"""Airflow Assets: one per `market` table, and the quality gate's verdict that downstream DAGs wait on."""

from __future__ import annotations

from airflow.sdk import Asset

from traider.marketdata.records import Stream

MARKET_ASSETS: dict[Stream, Asset] = {
    stream: Asset(name=f"market_{stream.value}", uri=f"traider://market/{stream.value}", group="market")
    for stream in Stream
}
QUALITY_PASSED = Asset(name="market_quality_passed", uri="traider://quality/market", group="quality")
# updated by the train DAG when it has registered new model versions; the gate DAG runs on it
MODELS_TRAINED = Asset(name="models_trained", uri="traider://models/trained", group="models")
# updated by build_features when the dbt build (models and tests) succeeded; the train DAG runs on it
FEATURES_BUILT = Asset(name="features_built", uri="traider://features/built", group="features")
