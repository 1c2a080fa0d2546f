"""Backtest against live: both equity curves over the same period, and how far live deviates from the backtest."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import plotly.graph_objects as go
import streamlit as st
import traider_ui as ui

from traider.dashboard import queries

st.title("Backtest against live")
st.caption(
    "The live (or paper) P&L snapshots of a worker against the backtest of the same strategy over the same period "
    "(mode `backtest` in trading.pnl_snapshots, written by the live-replay run). Returns are relative to each "
    "curve's first value in the period; the deviation is live return minus backtest return."
)

with ui.guarded("the P&L series"):
    series = queries.pnl_series(ui.engine(), ("paper", "live", "backtest"))
    live = series[series["mode"] != "backtest"]
    backtests = series[series["mode"] == "backtest"]
    if live.empty or backtests.empty:
        st.info(
            "Needs P&L snapshots of a paper or live worker and of a backtest: "
            f"{len(live)} live/paper and {len(backtests)} backtest series stored."
        )
        st.stop()
    live_labels = [f"{row.mode} {row.strategy}" for row in live.itertuples()]
    chosen_live = st.selectbox("Live series", live_labels, key="analysis_live")
    live_row = live.iloc[live_labels.index(chosen_live)]
    backtest_names = backtests["strategy"].tolist()
    default = backtest_names.index(live_row["strategy"]) if live_row["strategy"] in backtest_names else 0
    chosen_backtest = st.selectbox("Backtest series", backtest_names, index=default, key="analysis_backtest")
    backtest_row = backtests.iloc[backtest_names.index(chosen_backtest)]
    start = max(live_row["first_ts"], backtest_row["first_ts"])
    end = min(live_row["last_ts"], backtest_row["last_ts"])
    if start > end:
        st.warning("The two series do not overlap in time; showing the span of both.")
        start, end = (
            min(live_row["first_ts"], backtest_row["first_ts"]),
            max(live_row["last_ts"], backtest_row["last_ts"]),
        )
    period = st.date_input("Period (UTC days)", value=(start.date(), end.date()), key="analysis_period")


@st.fragment(run_every=ui.refresh_seconds())
def comparison() -> None:
    if not isinstance(period, tuple) or len(period) != 2:
        st.info("Pick the first and the last day of the period.")
        return
    since = datetime.combine(period[0], time(), tzinfo=UTC)
    until = datetime.combine(period[1], time(), tzinfo=UTC) + timedelta(days=1)
    with ui.guarded("the comparison"):
        frame = queries.backtest_vs_live(
            ui.engine(),
            live_mode=str(live_row["mode"]),
            live_strategy=str(live_row["strategy"]),
            backtest_strategy=str(chosen_backtest),
            since=since,
            until=until,
        )
        summary = queries.deviation_summary(frame)
        columns = st.columns(4)
        columns[0].metric("Live return", ui.percent(summary["live_return"]))
        columns[1].metric("Backtest return", ui.percent(summary["backtest_return"]))
        columns[2].metric("Deviation (live − backtest)", ui.percent(summary["final_deviation"]))
        columns[3].metric("Largest |deviation|", ui.percent(summary["max_abs_deviation"], signed=False))
        if frame.empty:
            st.info("No snapshot of either series in this period.")
            return
        frame = ui.naive_utc(frame)
        curves = go.Figure()
        curves.add_scatter(x=frame["bucket"], y=frame["live_equity"], name=f"live: {chosen_live}", mode="lines")
        curves.add_scatter(
            x=frame["bucket"], y=frame["backtest_equity"], name=f"backtest: {chosen_backtest}", mode="lines"
        )
        curves.update_layout(title="Equity", height=380, margin={"l": 10, "r": 10, "t": 40, "b": 10})
        st.plotly_chart(curves)
        deviation = go.Figure()
        deviation.add_scatter(x=frame["bucket"], y=frame["deviation"], name="deviation", mode="lines", fill="tozeroy")
        deviation.update_layout(
            title="Deviation (live return − backtest return)",
            height=280,
            yaxis_tickformat=".2%",
            margin={"l": 10, "r": 10, "t": 40, "b": 10},
        )
        st.plotly_chart(deviation)
        ui.table(frame)


comparison()
