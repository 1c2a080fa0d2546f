"""Kill switch: engage (optionally flattening) or release it, each with a reason and a confirmation step.

Both go through `traider.risk.kill_switch`, which writes `ops.kill_switch` and the audit event in one transaction,
with the logged-in user as the actor. Nothing changes until the second step is confirmed; cancelling changes nothing.
"""

from __future__ import annotations

import streamlit as st
import traider_ui as ui

from traider.dashboard import queries
from traider.risk import kill_switch

PENDING = "kill_switch_pending"
FLASH = "kill_switch_flash"

st.title("Kill switch")
st.caption(
    "Engaged: every worker cancels its open orders and refuses any order that adds exposure from its next bar; "
    "with flatten it also closes its positions. Every use is recorded with who and why in the audit log."
)
engine = ui.engine()
actor = ui.user()

if FLASH in st.session_state:
    kind, message = st.session_state.pop(FLASH)
    (st.success if kind == "success" else st.info)(message)


def request(action: str, reason: str, flatten: bool) -> None:
    """Step one: remember what is asked, to be confirmed."""
    if not reason.strip():
        st.error("Give a reason: it is recorded in the audit log.")
        return
    st.session_state[PENDING] = {"action": action, "reason": " ".join(reason.split()), "flatten": flatten}
    st.rerun()


def confirm_step(pending: dict) -> None:
    """Step two: say exactly what will happen; act only on an explicit confirmation."""
    action, reason, flatten = pending["action"], pending["reason"], pending["flatten"]
    what = (
        f"ENGAGE the kill switch{' and FLATTEN every position' if flatten else ''}"
        if action == "engage"
        else "RELEASE the kill switch: workers may trade again"
    )
    with st.container(border=True):
        st.warning(f"You are about to {what}, as **{actor}**, because: {reason}", icon=":material/warning:")
        confirmed = st.checkbox("I confirm", key="kill_switch_confirm")
        left, right = st.columns(2)
        go = left.button(f"Confirm: {action}", type="primary", disabled=not confirmed, key="kill_switch_go")
        cancel = right.button("Cancel", key="kill_switch_cancel")
    if cancel:
        st.session_state.pop(PENDING, None)
        st.session_state[FLASH] = ("info", f"Cancelled: the kill switch was not {action}d; nothing was recorded.")
        st.rerun()
    if go and confirmed:
        try:
            if action == "engage":
                state = kill_switch.engage(engine, actor=actor, reason=reason, flatten=flatten)
            else:
                state = kill_switch.release(engine, actor=actor, reason=reason)
        except kill_switch.KillSwitchError as error:
            st.error(str(error))
            return
        st.session_state.pop(PENDING, None)
        word = "ENGAGED" if state.engaged else "released"
        st.session_state[FLASH] = ("success", f"Kill switch {word} by {state.actor}: {state.reason} (audited)")
        st.rerun()


with ui.guarded("the kill switch"):
    state = kill_switch.current(engine)
    ui.kill_switch_banner(state)
    pending = st.session_state.get(PENDING)
    if pending:
        confirm_step(pending)
    elif state.engaged:
        with st.form("release"):
            reason = st.text_input("Reason for releasing (recorded in the audit log)", key="release_reason")
            if st.form_submit_button("Release kill switch…", key="release_submit"):
                request("release", reason, False)
    else:
        with st.form("engage"):
            reason = st.text_input("Reason for engaging (recorded in the audit log)", key="engage_reason")
            flatten = st.checkbox("Also flatten every open position", key="engage_flatten")
            if st.form_submit_button("Engage kill switch…", type="primary", key="engage_submit"):
                request("engage", reason, flatten)


@st.fragment(run_every=ui.refresh_seconds())
def history() -> None:
    st.subheader("History")
    with ui.guarded("the kill switch history"):
        ui.table(queries.kill_switch_history(ui.engine()))


history()
