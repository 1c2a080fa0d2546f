"""Models: the version in production and the challenger of each model, the gate's decisions and their reasons."""

from __future__ import annotations

import pandas as pd
import streamlit as st
import traider_ui as ui

from traider.dashboard import queries
from traider.dashboard.models import model_url, registry_view, run_url, version_url

DECISION_COLUMNS = [
    "decided_at",
    "model_name",
    "version",
    "action",
    "decision",
    "alias",
    "all reasons",
    "actor",
    "previous_version",
    "version page",
    "run",
    "audit_seq",
]

st.title("Models")


@st.fragment(run_every=max(ui.refresh_seconds(), 30.0))
def models() -> None:
    engine = ui.engine()
    uri = ui.settings().mlflow_uri
    with ui.guarded("the model registry"):
        names = queries.model_names(engine)
        view = registry_view(engine, ui.settings(), names)
        if view.source == "mlflow":
            st.caption(f"Aliases from the MLflow registry at {uri}.")
        else:
            st.caption(f"Aliases replayed from ops.model_decisions ({view.note}).")
        if not view.models:
            st.info("No model has been through the gate yet: the train and gate DAGs register and judge them.")
        rows = [
            {
                "model": row.name,
                "production": f"v{row.production}" if row.production else "none",
                "challenger": f"v{row.challenger}" if row.challenger else "none",
                "previous champion": f"v{row.previous_champion}" if row.previous_champion else "none",
                "last decision": (
                    f"{row.last_decision.action}: {row.last_decision.decision} v{row.last_decision.version}"
                    if row.last_decision
                    else ""
                ),
                "waiting for the gate": ", ".join(f"v{each}" for each in row.waiting),
                "production in MLflow": version_url(uri, row.name, row.production) if row.production else None,
                "challenger in MLflow": version_url(uri, row.name, row.challenger) if row.challenger else None,
                "model in MLflow": model_url(uri, row.name),
            }
            for row in view.models
        ]
        if rows:
            ui.table(
                pd.DataFrame(rows),
                column_config={
                    "production in MLflow": st.column_config.LinkColumn(display_text="open"),
                    "challenger in MLflow": st.column_config.LinkColumn(display_text="open"),
                    "model in MLflow": st.column_config.LinkColumn(display_text="open"),
                },
            )
        st.subheader("Gate decisions and alias moves")
        chosen = st.selectbox("Model", ["all", *names], key="decisions_model")
        decisions = queries.model_decisions(engine, model_name=None if chosen == "all" else chosen, limit=100)
        if decisions.empty:
            st.info("No decision recorded.")
            return
        decisions["all reasons"] = decisions["reasons"].map(lambda reasons: "; ".join(reasons or []))
        decisions["version page"] = [
            version_url(uri, name, version)
            for name, version in zip(decisions["model_name"], decisions["version"], strict=True)
        ]
        decisions["run"] = [run_url(uri, run) if isinstance(run, str) and run else None for run in decisions["run_id"]]
        ui.table(
            decisions[DECISION_COLUMNS],
            column_config={
                "version page": st.column_config.LinkColumn(display_text="MLflow"),
                "run": st.column_config.LinkColumn(display_text="run"),
                "all reasons": st.column_config.TextColumn("reasons", width="large"),
            },
        )
        for decision in decisions.head(10).itertuples():
            with st.expander(
                f"{decision.model_name} v{decision.version} — {decision.action}: {decision.decision} "
                f"({decision.decided_at:%Y-%m-%d %H:%M} by {decision.actor})"
            ):
                st.markdown("\n".join(f"- {reason}" for reason in decision.reasons or []) or "no reason")
                st.link_button("Open in MLflow", version_url(uri, decision.model_name, decision.version))


models()
