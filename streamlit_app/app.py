"""TRAIDER operator dashboard: `traider dashboard run` (or `streamlit run streamlit_app/app.py`).

Nothing is shown before a login against TRAIDER_DASHBOARD_USERS (scrypt hashes; there is no default user or
password: with none configured only an error is shown). Then one page per view, chosen in the sidebar.
"""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="TRAIDER", page_icon=":material/monitoring:", layout="wide")

import traider_ui as ui  # noqa: E402 (set_page_config must come first)

from traider.dashboard import auth  # noqa: E402
from traider.errors import ConfigurationError  # noqa: E402


def login_page() -> None:
    """Ask for a user name and password; on success remember the user in this browser session."""
    st.title("TRAIDER operator dashboard")
    with st.form("login"):
        name = st.text_input("User name", key="login_user")
        password = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Log in", type="primary", key="login_submit")
    if submitted:
        result = auth.authenticate(users, name, password)
        if result.ok:
            st.session_state[ui.USER_KEY] = result.user
            st.session_state.pop("login_password", None)
            st.rerun()
        st.error(result.message)


try:
    users = auth.configured_users()
except ConfigurationError as error:
    st.title("TRAIDER operator dashboard")
    st.error(f"The dashboard is not configured: {error}")
    st.stop()

if not st.session_state.get(ui.USER_KEY):
    st.navigation([st.Page(login_page, title="Log in", icon=":material/lock:")], position="hidden").run()
    st.stop()

pages = {
    "Trading": [
        st.Page("views/overview.py", title="Overview", icon=":material/monitoring:", url_path="overview", default=True),
        st.Page("views/orders.py", title="Orders and fills", icon=":material/receipt_long:", url_path="orders"),
    ],
    "Risk": [
        st.Page("views/risk.py", title="Risk", icon=":material/shield:", url_path="risk"),
        st.Page("views/kill_switch.py", title="Kill switch", icon=":material/dangerous:", url_path="kill-switch"),
    ],
    "Models and data": [
        st.Page("views/models.py", title="Models", icon=":material/model_training:", url_path="models"),
        st.Page(
            "views/data_health.py", title="Data health", icon=":material/health_and_safety:", url_path="data-health"
        ),
        st.Page("views/analysis.py", title="Backtest vs live", icon=":material/compare_arrows:", url_path="analysis"),
    ],
}
page = st.navigation(pages)

with st.sidebar:
    st.caption(f"Logged in as **{ui.user()}**")
    if st.button("Log out", key="logout"):
        st.session_state.pop(ui.USER_KEY, None)
        st.rerun()
    st.selectbox("Mode", list(ui.MODE_CHOICES), key="mode")
    if "live" in ui.modes():
        st.selectbox("Live risk profile", ["live_small", "live_institutional"], key="live_profile")
    st.selectbox("Window", list(ui.WINDOWS), index=1, key="window")
    st.caption(f"Data refreshes every {ui.refresh_seconds():g} s without reloading the page.")

    @st.fragment(run_every=ui.refresh_seconds())
    def kill_switch_state() -> None:
        from traider.risk import kill_switch

        with ui.guarded("the kill switch"):
            state = kill_switch.current(ui.engine())
            if state.engaged:
                st.error(f"Kill switch ENGAGED by {state.actor}", icon=":material/dangerous:")
            else:
                st.caption("Kill switch: released")

    kill_switch_state()

page.run()
