"""What every dashboard page shares: the engine, the logged-in user, the sidebar's choices, formatting, charts.

Streamlit puts this directory on `sys.path` while it runs the app, so pages import it as `traider_ui`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from traider.config import Settings
from traider.errors import TraiderError

USER_KEY = "traider_user"
REFRESH_VARIABLE = "TRAIDER_DASHBOARD_REFRESH_S"
DEFAULT_REFRESH_S = 10.0
WINDOWS = {"24 hours": 1.0, "7 days": 7.0, "30 days": 30.0, "365 days": 365.0}
MODE_CHOICES = {"paper": ("paper",), "live": ("live",), "paper + live": ("paper", "live")}


def refresh_seconds() -> float:
    """Return how often the pages' data refreshes in place (TRAIDER_DASHBOARD_REFRESH_S, at least 1 s)."""
    try:
        return max(1.0, float(os.environ.get(REFRESH_VARIABLE, DEFAULT_REFRESH_S)))
    except ValueError:
        return DEFAULT_REFRESH_S


def settings() -> Settings:
    """Return the settings, read from the environment on every run (cheap; the engine is what is cached)."""
    return Settings()


@st.cache_resource(show_spinner=False)
def _engine(url: str | None, role: str, timeout_s: int) -> Engine:
    """Return an engine on a current schema; the arguments (the settings it is built from) are the cache key."""
    from traider.db.engine import application_engine
    from traider.db.migrate import require_current_schema

    engine = application_engine(settings())
    with engine.connect() as connection:
        require_current_schema(connection)
    return engine


def engine() -> Engine:
    """Return the application engine (least-privilege role), one per database URL for the process."""
    current = settings()
    url = current.database_url.get_secret_value() if current.database_url else None
    return _engine(url, current.database_app_role, current.database_connect_timeout_s)


def user() -> str:
    """Return the logged-in user (the app never renders a page without one)."""
    name = st.session_state.get(USER_KEY)
    if not name:
        st.error("Not logged in.")
        st.stop()
    return str(name)


def modes() -> tuple[str, ...]:
    """Return the trading modes chosen in the sidebar."""
    return MODE_CHOICES[st.session_state.get("mode", "paper")]


def window_days() -> float:
    """Return the length of the time window chosen in the sidebar, in days."""
    return WINDOWS[st.session_state.get("window", "7 days")]


def live_profile() -> str:
    """Return the risk profile of live trading chosen in the sidebar."""
    return str(st.session_state.get("live_profile", "live_small"))


def db_now() -> datetime:
    """Return the database's clock."""
    from sqlalchemy import text

    with engine().connect() as connection:
        moment: datetime = connection.execute(text("SELECT now()")).scalar_one()
    return moment


@contextmanager
def guarded(what: str) -> Iterator[None]:
    """Show a failure to read `what` as one error line instead of a traceback, and keep the page alive."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except (SQLAlchemyError, TraiderError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        st.error(f"Could not read {what}: {first}")


def money(value: float | None, *, signed: bool = False) -> str:
    """Format an amount in quote currency."""
    if value is None or pd.isna(value):
        return "—"
    return f"{value:+,.2f}" if signed else f"{value:,.2f}"


def percent(value: float | None, *, signed: bool = True) -> str:
    """Format a fraction as a percentage."""
    if value is None or pd.isna(value):
        return "—"
    return f"{value:+.2%}" if signed else f"{value:.2%}"


def age(seconds: float | None) -> str:
    """Format an age in seconds for people."""
    if seconds is None or pd.isna(seconds):
        return "—"
    seconds = float(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if abs(seconds) >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def line_chart(frame: pd.DataFrame, *, x: str, y: str, color: str | None = None, title: str = "", y_title: str = ""):
    """Return a plotly line figure of a long frame."""
    import plotly.express as px

    figure = px.line(naive_utc(frame), x=x, y=y, color=color, title=title)
    figure.update_layout(
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        yaxis_title=y_title,
        xaxis_title="",
        legend_title_text="",
        height=360,
    )
    return figure


def kill_switch_banner(state: Any) -> None:
    """Show the kill switch's state in one coloured line."""
    if state.engaged:
        st.error(
            f"Kill switch ENGAGED{' (flatten)' if state.flatten else ''} by {state.actor} "
            f"at {state.changed_at:%Y-%m-%d %H:%M:%S %Z}: {state.reason}",
            icon=":material/dangerous:",
        )
    elif state.changed_at is not None:
        st.success(
            f"Kill switch released by {state.actor} at {state.changed_at:%Y-%m-%d %H:%M:%S %Z}",
            icon=":material/check_circle:",
        )
    else:
        st.success("Kill switch released (never used)", icon=":material/check_circle:")


def limits():
    """Return the pre-trade limits of the chosen modes (live's profile from the sidebar)."""
    from traider.dashboard.risk import limits_for

    return limits_for(modes(), live_profile())


def show_limit_usage(uses) -> None:
    """Show the use of each pre-trade limit as a table with a progress bar per limit."""
    from traider.dashboard.risk import usage_table

    table = usage_table(uses)
    table["used"] = table["used"].clip(upper=1.0)
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "now": st.column_config.NumberColumn(format="%.2f"),
            "bound": st.column_config.NumberColumn("limit", format="%.2f"),
            "used": st.column_config.ProgressColumn("used", min_value=0.0, max_value=1.0, format="percent"),
        },
    )


def naive_utc(frame: pd.DataFrame) -> pd.DataFrame:
    """Return `frame` with its timezone-aware columns as naive UTC (every time on the dashboard is UTC).

    Arrow (st.dataframe) and plotly read timezone-aware columns through a path pandas 3.1 deprecates.
    """
    aware = [name for name, dtype in frame.dtypes.items() if isinstance(dtype, pd.DatetimeTZDtype)]
    if not aware:
        return frame
    return frame.assign(**{str(name): frame[name].dt.tz_convert(None) for name in aware})


def table(frame: pd.DataFrame | list, **options: Any) -> None:
    """Show a table (times in UTC), without its index unless asked."""
    options.setdefault("hide_index", True)
    st.dataframe(naive_utc(frame) if isinstance(frame, pd.DataFrame) else frame, **options)
