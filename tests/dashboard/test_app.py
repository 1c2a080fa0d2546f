"""The Streamlit app under `streamlit.testing.v1.AppTest`: login, every page, the kill switch's two steps."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from streamlit.testing.v1 import AppTest

from tests.dashboard.conftest import PASSWORD, USER, Seeded
from traider.risk import kill_switch

APP = Path(__file__).resolve().parents[2] / "streamlit_app" / "app.py"
PAGES = {
    "views/overview.py": "Overview",
    "views/orders.py": "Orders and fills",
    "views/risk.py": "Risk",
    "views/kill_switch.py": "Kill switch",
    "views/models.py": "Models",
    "views/data_health.py": "Data health",
    "views/analysis.py": "Backtest against live",
}


@pytest.fixture
def dashboard_env(monkeypatch: pytest.MonkeyPatch, database_url: URL, users_entry: str) -> None:
    monkeypatch.setenv("TRAIDER_DATABASE_URL", database_url.render_as_string(hide_password=False))
    monkeypatch.setenv("TRAIDER_DASHBOARD_USERS", users_entry)
    monkeypatch.setenv("TRAIDER_MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # nothing listens: history fallback
    monkeypatch.delenv("TRAIDER_DATABASE_APP_ROLE", raising=False)


def _app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60)


def _texts(at: AppTest) -> str:
    parts = [element.value for element in (*at.title, *at.markdown, *at.caption, *at.subheader)]
    parts += [element.value for element in (*at.error, *at.warning, *at.info, *at.success)]
    return "\n".join(str(part) for part in parts)


def _log_in(at: AppTest, user: str = USER, password: str = PASSWORD) -> AppTest:
    at.run()
    at.text_input(key="login_user").input(user)
    at.text_input(key="login_password").input(password)
    at.button(key="login_submit").click()
    return at.run()


def test_without_users_only_an_error_is_shown(monkeypatch: pytest.MonkeyPatch, database_url: URL) -> None:
    monkeypatch.setenv("TRAIDER_DATABASE_URL", database_url.render_as_string(hide_password=False))
    monkeypatch.delenv("TRAIDER_DASHBOARD_USERS", raising=False)
    at = _app().run()
    assert not at.exception
    assert "no dashboard user is configured" in at.error[0].value
    assert "no default password" in at.error[0].value
    assert not at.text_input  # no login form at all


def test_a_malformed_user_list_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAIDER_DASHBOARD_USERS", "operator:plaintext-password")
    at = _app().run()
    assert "malformed" in at.error[0].value and "plaintext-password" not in at.error[0].value
    assert not at.text_input


def test_a_wrong_password_does_not_log_in(dashboard_env: None, seeded: Seeded) -> None:
    at = _log_in(_app(), password="not the password")
    assert not at.exception
    assert "wrong user name or password" in _texts(at)
    assert at.text_input(key="login_user")  # still on the login page
    assert "Overview" not in [title.value for title in at.title]
    at = _log_in(_app(), user="intruder", password=PASSWORD)
    assert "wrong user name or password" in _texts(at)


def test_login_then_every_page_renders(dashboard_env: None, seeded: Seeded) -> None:
    at = _log_in(_app())
    assert not at.exception, at.exception
    assert [title.value for title in at.title] == ["Overview"]
    metrics = {metric.label: metric.value for metric in at.metric}
    assert set(metrics) >= {"Equity", "P&L today", "P&L total", "Gross exposure", "Net exposure", "Open positions"}
    assert metrics["Open positions"] == "2"
    assert f"Logged in as **{USER}**" in _texts(at)
    for page, title in PAGES.items():
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert [each.value for each in at.title] == [title], page
        assert not at.error, (page, [error.value for error in at.error])
    at.switch_page("views/models.py").run()
    assert "replayed from ops.model_decisions" in _texts(at)
    at.switch_page("views/data_health.py").run()
    health = {metric.label: metric.value for metric in at.metric}
    assert health["Tables failing quality"] == "1" and health["Quarantined rows in window"] == "10"
    at.switch_page("views/analysis.py").run()
    analysis = {metric.label: metric.value for metric in at.metric}
    assert analysis["Deviation (live − backtest)"].startswith("-")
    at.switch_page("views/orders.py").run()
    assert {metric.label: metric.value for metric in at.metric}["Fills in window"] == "270"
    at.button(key="fills_older").click().run()
    assert at.session_state["fills_pages"] and not at.exception


def test_logging_out_returns_to_the_login(dashboard_env: None, seeded: Seeded) -> None:
    at = _log_in(_app())
    at.button(key="logout").click().run()
    assert at.text_input(key="login_user") and not at.metric


def test_kill_switch_needs_a_reason_and_a_confirmation_and_cancel_changes_nothing(
    dashboard_env: None, seeded: Seeded, app_engine: Engine, admin_engine: Engine
) -> None:
    at = _log_in(_app())
    at.switch_page("views/kill_switch.py").run()
    at.button(key="engage_submit").click().run()  # without a reason
    assert "Give a reason" in _texts(at)

    at.text_input(key="engage_reason").input("venue outage")
    at.checkbox(key="engage_flatten").check()
    at.button(key="engage_submit").click().run()
    assert "You are about to ENGAGE the kill switch and FLATTEN every position" in _texts(at)
    assert at.button(key="kill_switch_go").disabled  # not before "I confirm"
    at.button(key="kill_switch_cancel").click().run()
    assert "Cancelled" in _texts(at)
    assert not kill_switch.current(app_engine).engaged

    at.text_input(key="engage_reason").input("venue outage")
    at.button(key="engage_submit").click().run()
    at.checkbox(key="kill_switch_confirm").check().run()
    at.button(key="kill_switch_go").click().run()
    assert not at.exception
    state = kill_switch.current(app_engine)
    assert (state.engaged, state.actor, state.reason, state.flatten) == (True, USER, "venue outage", False)
    assert "Kill switch ENGAGED by operator" in _texts(at)

    at.text_input(key="release_reason").input("venue back")
    at.button(key="release_submit").click().run()
    at.checkbox(key="kill_switch_confirm").check().run()
    at.button(key="kill_switch_go").click().run()
    assert not kill_switch.current(app_engine).engaged
    with admin_engine.connect() as connection:
        events = connection.execute(
            text(
                "SELECT action, actor, payload ->> 'reason' FROM audit.events WHERE subject = 'kill_switch' "
                "ORDER BY seq DESC LIMIT 2"
            )
        ).all()
    assert [tuple(event) for event in events] == [
        ("kill_switch.release", USER, "venue back"),
        ("kill_switch.engage", USER, "venue outage"),
    ]
