"""Data health: the latest quality results per table, quarantined rows, feed freshness, heartbeats, open alerts."""

from __future__ import annotations

import streamlit as st
import traider_ui as ui

from traider.dashboard import queries

st.title("Data health")
stale_minutes = st.number_input("Flag a feed as stale after (minutes)", min_value=1, value=60, key="stale_minutes")


@st.fragment(run_every=ui.refresh_seconds())
def health() -> None:
    engine = ui.engine()
    with ui.guarded("the data health"):
        quality = queries.quality_latest(engine)
        now = ui.db_now()
        since, _ = queries.window(now, ui.window_days())
        quarantine = queries.quarantine_counts(engine, since=since)
        feeds = queries.feed_freshness(engine)
        stale = feeds[feeds["age_s"] > stale_minutes * 60] if len(feeds) else feeds
        columns = st.columns(4)
        columns[0].metric("Tables failing quality", f"{int((quality['failed'] > 0).sum()) if len(quality) else 0}")
        columns[1].metric("Quarantined rows in window", f"{int(quarantine['rows'].sum()) if len(quarantine) else 0:,}")
        columns[2].metric("Stale feeds", f"{len(stale)} of {len(feeds)}")
        alerts = queries.open_alerts(engine)
        columns[3].metric("Open alerts", f"{len(alerts)}{'+' if len(alerts) >= 50 else ''}")

        st.subheader("Latest quality results")
        if quality.empty:
            st.info("No quality results yet: the data_quality DAG writes them after each ingest.")
        else:
            ui.table(quality)
            failures = queries.quality_failures(engine)
            if not failures.empty:
                st.caption("Failed expectations of the latest runs")
                ui.table(failures)
        st.subheader("Quarantine")
        if quarantine.empty:
            st.info("Nothing quarantined in this window.")
        else:
            ui.table(quarantine)
        st.subheader("Feed freshness")
        if feeds.empty:
            st.info("No ingest watermark yet: nothing has been ingested.")
        else:
            shown = feeds.assign(
                age=feeds["age_s"].map(ui.age),
                since_advance=feeds["since_advance_s"].map(ui.age),
                stale=feeds["age_s"] > stale_minutes * 60,
            )
            ui.table(
                shown[["venue", "symbol", "stream", "timeframe", "last_ts", "age", "since_advance", "stale"]],
            )
        st.subheader("Heartbeats")
        beats = queries.heartbeats(engine)
        if beats.empty:
            st.info("No heartbeat yet: workers beat once a second while running.")
        else:
            ui.table(beats.assign(age=beats["age_s"].map(ui.age)).drop(columns=["age_s"]))
        st.subheader("Open alerts")
        if alerts.empty:
            st.info("No open alert.")
        else:
            ui.table(alerts)


health()
