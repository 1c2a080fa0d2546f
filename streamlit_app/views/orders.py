"""Orders and fills: activity over the window, per-instrument totals, open orders, and every fill page by page."""

from __future__ import annotations

import plotly.express as px
import streamlit as st
import traider_ui as ui

from traider.dashboard import queries

PAGE_SIZE = 50

st.title("Orders and fills")
symbol = st.text_input("Symbol filter for the fills list (e.g. BTC/USDT; empty: all)", key="fills_symbol").strip()
if st.session_state.get("fills_filter") != symbol:  # a new filter starts again at the newest fills
    st.session_state["fills_filter"] = symbol
    st.session_state["fills_pages"] = []


def pages(name: str) -> list[int]:
    """Return the stack of `before_id`s of a keyset-paginated list (empty: the newest page)."""
    stack: list[int] = st.session_state.setdefault(f"{name}_pages", [])
    return stack


def pager(name: str, frame_ids: list[int]) -> None:
    """Show Newer / Older buttons under a list; they move along its keyset pages (by callbacks, before the rerun)."""
    stack = pages(name)
    left, middle, right = st.columns([1, 2, 1])
    left.button("◀ Newer", key=f"{name}_newer", disabled=not stack, on_click=stack.pop)
    middle.caption(f"page {len(stack) + 1}, {PAGE_SIZE} per page, newest first")
    right.button(
        "Older ▶",
        key=f"{name}_older",
        disabled=len(frame_ids) < PAGE_SIZE,
        on_click=stack.append,
        args=(min(frame_ids, default=0),),
    )


@st.fragment(run_every=ui.refresh_seconds())
def activity() -> None:
    engine = ui.engine()
    modes = ui.modes()
    with ui.guarded("orders and fills"):
        since, until = queries.window(ui.db_now(), ui.window_days())
        totals = queries.fill_totals(engine, since=since, until=until)
        statuses = queries.order_status_counts(engine, modes=modes, since=since)
        columns = st.columns(5)
        columns[0].metric("Fills in window", f"{int(totals['fills'].sum()) if len(totals) else 0:,}")
        columns[1].metric("Traded notional", ui.money(float(totals["notional"].sum()) if len(totals) else 0.0))
        columns[2].metric("Fees", ui.money(float(totals["fees"].sum()) if len(totals) else 0.0))
        columns[3].metric("Orders in window", f"{int(statuses['orders'].sum()) if len(statuses) else 0:,}")
        columns[4].metric(
            "Fills stored", f"{queries.stored_fills(engine):,}", help="The planner's estimate above 100,000"
        )
        activity = queries.fill_activity(engine, since=since, until=until)
        if not activity.empty:
            figure = px.bar(
                ui.naive_utc(activity), x="bucket", y="notional", hover_data=["fills", "fees"], title="Traded notional"
            )
            figure.update_layout(margin={"l": 10, "r": 10, "t": 40, "b": 10}, xaxis_title="", height=300)
            st.plotly_chart(figure)
        left, right = st.columns(2)
        left.caption("Fills per instrument in the window (all modes)")
        with left:
            ui.table(totals)
        right.caption("Orders per status in the window")
        with right:
            ui.table(statuses)
        st.subheader("Open orders")
        opened = queries.open_orders(engine, modes=modes)
        if opened.empty:
            st.info("No open order.")
        else:
            ui.table(opened)


@st.fragment(run_every=ui.refresh_seconds())
def fills() -> None:
    st.subheader("Fills")
    with ui.guarded("the fills"):
        stack = pages("fills")
        before = stack[-1] if stack else None
        page = queries.fills_page(
            ui.engine(), limit=PAGE_SIZE, before_id=before, symbol=symbol or None, modes=ui.modes()
        )
        ui.table(page)
        pager("fills", page["id"].astype(int).tolist())


@st.fragment(run_every=ui.refresh_seconds())
def orders() -> None:
    st.subheader("Orders")
    with ui.guarded("the orders"):
        stack = pages("orders")
        before = stack[-1] if stack else None
        page = queries.recent_orders(ui.engine(), modes=ui.modes(), limit=PAGE_SIZE, before_id=before)
        ui.table(page)
        pager("orders", page["id"].astype(int).tolist())


activity()
fills()
orders()
