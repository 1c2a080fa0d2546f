"""Risk: one-day VaR of the book, correlations between held instruments, and every limit's use."""

from __future__ import annotations

import plotly.express as px
import streamlit as st
import traider_ui as ui

from traider.dashboard.risk import book_risk, correlation_matrix
from traider.risk import kill_switch

st.title("Risk")


@st.fragment(run_every=ui.refresh_seconds())
def risk() -> None:
    engine = ui.engine()
    with ui.guarded("the risk figures"):
        ui.kill_switch_banner(kill_switch.current(engine))
        st.page_link("views/kill_switch.py", label="Engage or release the kill switch", icon=":material/dangerous:")
        book = book_risk(engine, ui.modes(), ui.limits())
        limits = book.limits
        columns = st.columns(4)
        var = book.var
        columns[0].metric(f"VaR {limits.var_confidence:.0%} 1 day (larger)", ui.money(var.value if var else None))
        columns[1].metric("Historical VaR", ui.money(var.historical if var else None))
        columns[2].metric("Parametric VaR", ui.money(var.parametric if var else None))
        var_limit = None if limits.var_limit_fraction is None else limits.var_limit_fraction * book.capital
        columns[3].metric(
            "VaR limit", ui.money(var_limit) if var_limit is not None else "off", help="Paper trading has no VaR limit"
        )
        if var is not None:
            st.caption(f"Over {var.days} daily returns of the held instruments; capital {ui.money(book.capital)}.")
        st.subheader("Limits")
        ui.show_limit_usage(book.uses)
        st.subheader("Correlations of daily returns")
        matrix = correlation_matrix(book.returns)
        if matrix.empty:
            st.info("Correlations need at least two held instruments with two days of returns.")
        else:
            figure = px.imshow(matrix, zmin=-1, zmax=1, color_continuous_scale="RdBu_r", text_auto=".2f")
            figure.update_layout(margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=420)
            st.plotly_chart(figure)
        st.subheader("Positions")
        ui.table([{"instrument": label, "notional": value} for label, value in book.notionals.items()])


risk()
