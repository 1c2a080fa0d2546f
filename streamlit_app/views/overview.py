"""Overview: equity curve, P&L today and in total, positions, exposure, and the use of every risk limit."""

from __future__ import annotations

import pandas as pd
import streamlit as st
import traider_ui as ui

from traider.dashboard import queries
from traider.dashboard.risk import book_risk
from traider.risk import kill_switch

POSITION_COLUMNS = [
    "mode",
    "venue",
    "symbol",
    "quantity",
    "average_entry_price",
    "mark",
    "mark_source",
    "notional",
    "realised_pnl",
    "updated_at",
]

st.title("Overview")


def equity_section(engine, modes: tuple[str, ...]) -> None:
    """Plot each series' equity over the window (and their total when there are several)."""
    since, until = queries.window(ui.db_now(), ui.window_days())
    curve = queries.equity_curve(engine, modes=modes, since=since, until=until)
    st.subheader("Equity")
    if curve.empty:
        st.info("No P&L snapshots in this window yet: the execution worker writes one per bar.")
        return
    curve["series"] = curve["mode"] + " " + curve["strategy"]
    frame = curve[["bucket", "series", "equity"]]
    if curve["series"].nunique() > 1:
        frame = pd.concat([frame, queries.total_equity(curve).assign(series="total")], ignore_index=True)
    st.plotly_chart(ui.line_chart(frame, x="bucket", y="equity", color="series", y_title="equity"))


@st.fragment(run_every=ui.refresh_seconds())
def overview() -> None:
    engine = ui.engine()
    modes = ui.modes()
    with ui.guarded("P&L and positions"):
        ui.kill_switch_banner(kill_switch.current(engine))
        series = queries.pnl_series(engine, modes)
        totals = queries.pnl_totals(series)
        held = queries.positions(engine, modes)
        exposure = queries.exposure(engine, modes)
        columns = st.columns(6)
        columns[0].metric("Equity", ui.money(totals["equity"]))
        columns[1].metric("P&L today", ui.money(totals["pnl_today"], signed=True))
        columns[2].metric("P&L total", ui.money(totals["total_pnl"], signed=True))
        columns[3].metric("Gross exposure", ui.money(float(exposure["gross"].sum()) if len(exposure) else 0.0))
        columns[4].metric("Net exposure", ui.money(float(exposure["net"].sum()) if len(exposure) else 0.0))
        columns[5].metric("Open positions", f"{len(held)}")
        equity_section(engine, modes)
        st.subheader("P&L by strategy")
        ui.table(series[["mode", "strategy", "last_ts", "equity", "pnl_today", "total_pnl", "fees_paid"]])
        st.subheader("Positions and exposure")
        if held.empty:
            st.info("No open position.")
        else:
            ui.table(held[POSITION_COLUMNS])
        ui.table(exposure)
    with ui.guarded("the risk limits"):
        st.subheader("Risk limits")
        ui.show_limit_usage(book_risk(engine, modes, ui.limits()).uses)


overview()
