"""Point in time and incremental builds, on real data that changes and arrives after a moment t.

One database, three builds: (1) a full build of the data up to a cut; (2) an incremental build after
the bars and trades from a moment t before the cut on were changed in place, the rest of the data
arrived, and both were checked by the quality gate; (3) a full refresh. Every row known at t
(available_at <= t) must come out of build 2 exactly as build 1 wrote it, rows after t must change,
and the incremental build must write exactly what the full refresh writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from tests.features.conftest import feature_settings
from tests.features.market import UNITTEST_5M, XRP_ETH_5M, XRP_ETH_TRADES, Window, gate, load_file, utc
from tests.postgres import fresh_database
from traider.db.engine import make_engine
from traider.features.dbt_runner import build_features

FIRST, SECOND = utc(2018, 1, 10, 4, 55), utc(2018, 1, 30, 4, 55)  # UNITTEST/BTC 5m bars
CHANGED, CUT = utc(2018, 1, 18, 7, 5), utc(2018, 1, 20)
XRP_FIRST, XRP_END = utc(2019, 10, 11), utc(2019, 10, 13, 11, 20)  # XRP/ETH bars and trades
XRP_CHANGED, XRP_CUT = utc(2019, 10, 12, 3, 30), utc(2019, 10, 12, 18)
PRICE_FACTOR = 1.0005  # a 0.05% step: below the quality gate's price-jump floor of 0.1%
# Each build counts the quality runs recorded since it last ran as new, with a safety margin (1 hour by
# default) for transactions in flight. Here the steps follow each other within seconds and nothing runs
# concurrently, so the margin is 0: otherwise every build would recompute from the first window on.
VARIABLES = {"quality_recheck_margin": "0 seconds"}
MODELS = ("intermediate.int_bars", "intermediate.int_bar_indicators", "intermediate.int_order_flow",
          "features.features", "features.training_set")  # fmt: skip
BUILD_COLUMNS = ("built_at", "recomputed_from")


@dataclass
class Scenario:
    """The builds' snapshots of every incremental model, by step."""

    snapshots: dict[str, dict[str, pd.DataFrame]]
    recomputed_from: dict[str, pd.Timestamp | None]


def _snapshot(engine: Engine) -> dict[str, pd.DataFrame]:
    with engine.connect() as connection:
        return {
            model: pd.read_sql(text(f"SELECT * FROM {model} ORDER BY venue, symbol, timeframe, ts"), connection)
            for model in MODELS
        }


def _latest_recompute(engine: Engine) -> pd.Timestamp | None:
    with engine.connect() as connection:
        value = connection.execute(
            text("SELECT recomputed_from FROM features.features ORDER BY built_at DESC, recomputed_from LIMIT 1")
        ).scalar_one()
    return None if value is None else pd.Timestamp(value)


@pytest.fixture(scope="module")
def scenario(admin_url: str, shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    home = tmp_path_factory.mktemp("pit-home")
    with fresh_database(admin_url) as url:
        admin, app = make_engine(url), make_engine(url, role="traider_app")
        settings = feature_settings(url, home)
        snapshots, recomputed = {}, {}

        def build(step: str, *, full_refresh: bool = False) -> None:
            build_features(settings, full_refresh=full_refresh, variables=VARIABLES)
            snapshots[step], recomputed[step] = _snapshot(admin), _latest_recompute(admin)

        try:
            load_file(app, shared_data, UNITTEST_5M, until=CUT)
            load_file(app, shared_data, XRP_ETH_5M, until=XRP_CUT)
            load_file(app, shared_data, XRP_ETH_TRADES, until=XRP_CUT)
            _check(app, home, "first", (FIRST, CUT), (XRP_FIRST, XRP_CUT))
            build("first")

            with admin.begin() as connection:
                connection.execute(
                    text("UPDATE market.ohlcv SET open = open * :k, high = high * :k, low = low * :k, close = close * :k "
                         "WHERE symbol = 'UNITTEST/BTC' AND ts >= :t"),
                    {"k": PRICE_FACTOR, "t": CHANGED},
                )  # fmt: skip
                connection.execute(
                    text("UPDATE market.trades SET side = CASE side WHEN 'buy' THEN 'sell' ELSE 'buy' END "
                         "WHERE symbol = 'XRP/ETH' AND ts >= :t AND trade_id::bigint % 3 = 0"),
                    {"t": XRP_CHANGED},
                )  # fmt: skip
            load_file(app, shared_data, UNITTEST_5M, since=CUT)
            load_file(app, shared_data, XRP_ETH_5M, since=XRP_CUT)
            load_file(app, shared_data, XRP_ETH_TRADES, since=XRP_CUT)
            _check(app, home, "changed", (CHANGED, SECOND), (XRP_CHANGED, XRP_END))
            build("changed")

            build("refreshed", full_refresh=True)
            yield Scenario(snapshots, recomputed)
        finally:
            admin.dispose()
            app.dispose()


def _check(
    engine: Engine, home: Path, step: str, unittest: tuple[datetime, datetime], xrp: tuple[datetime, datetime]
) -> None:
    """Run the quality gate on the windows that arrived or changed."""
    for number, window in enumerate((Window("ohlcv", *unittest), Window("ohlcv", *xrp), Window("trades", *xrp))):
        gate(engine, window, f"{step}-{number}", home)


def _known_by(frame: pd.DataFrame, moment: datetime, symbol: str) -> pd.DataFrame:
    rows = frame[(frame["symbol"] == symbol) & (frame["ts"] + _timeframe(frame) <= moment)]
    return rows.drop(columns=[column for column in BUILD_COLUMNS if column in rows.columns]).reset_index(drop=True)


def _timeframe(frame: pd.DataFrame) -> pd.Series:
    assert set(frame["timeframe"]) == {"1h"}
    return pd.Series(pd.Timedelta(hours=1), index=frame.index)


@pytest.mark.parametrize(("symbol", "moment"), [("UNITTEST/BTC", CHANGED), ("XRP/ETH", XRP_CHANGED)])
def test_no_feature_known_at_t_changes_when_later_data_changes_or_arrives(
    scenario: Scenario, symbol: str, moment: datetime
) -> None:
    before, after = "first", "changed"
    for model in MODELS:
        if model == "features.training_set" or (model == "intermediate.int_order_flow" and symbol != "XRP/ETH"):
            continue  # labels look ahead by design (see below); only XRP/ETH has trades
        earlier = _known_by(scenario.snapshots[before][model], moment, symbol)
        later = _known_by(scenario.snapshots[after][model], moment, symbol)
        assert len(earlier) > 0, model
        pd.testing.assert_frame_equal(earlier, later, check_exact=True, obj=f"{model} rows known by {moment}")
        grown = scenario.snapshots[after][model]
        assert len(grown[grown["symbol"] == symbol]) >= len(later), model


def test_the_later_change_does_reach_later_features(scenario: Scenario) -> None:
    first, changed = (scenario.snapshots[step]["features.features"] for step in ("first", "changed"))
    for symbol, moment, column in (
        ("UNITTEST/BTC", CHANGED, "close"),
        ("XRP/ETH", XRP_CHANGED, "order_flow_imbalance"),
    ):
        before = first[(first["symbol"] == symbol) & (first["ts"] >= moment)][column]
        after = changed[(changed["symbol"] == symbol) & (changed["ts"] >= moment)].iloc[: len(before)][column]
        assert len(before) == len(after) > 0
        assert (before.to_numpy() != after.to_numpy()).any(), symbol


def test_labels_known_at_t_do_not_change(scenario: Scenario) -> None:
    first, changed = (scenario.snapshots[step]["features.training_set"] for step in ("first", "changed"))
    horizon = pd.Timedelta(hours=24 + 1)  # the longest label is known when bar t+24 closes

    def known(frame: pd.DataFrame) -> pd.DataFrame:
        rows = frame[(frame["symbol"] == "UNITTEST/BTC") & (frame["ts"] + horizon <= CHANGED)]
        return rows.drop(columns=list(BUILD_COLUMNS)).reset_index(drop=True)

    assert len(known(first)) > 0
    pd.testing.assert_frame_equal(known(first), known(changed), check_exact=True)


def test_incremental_builds_recompute_only_the_tail(scenario: Scenario) -> None:
    assert scenario.recomputed_from["first"] is None  # a full build
    assert scenario.recomputed_from["changed"] == pd.Timestamp(CHANGED.date(), tz="UTC")  # midnight before t
    assert scenario.recomputed_from["refreshed"] is None


@pytest.mark.parametrize("model", MODELS)
def test_incremental_build_equals_full_refresh(scenario: Scenario, model: str) -> None:
    incremental = scenario.snapshots["changed"][model].drop(columns=list(BUILD_COLUMNS))
    refreshed = scenario.snapshots["refreshed"][model].drop(columns=list(BUILD_COLUMNS))
    assert len(refreshed) > 0
    pd.testing.assert_frame_equal(incremental, refreshed, check_exact=True)
