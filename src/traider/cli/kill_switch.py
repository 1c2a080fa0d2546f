"""`traider kill-switch`: stop all new exposure at once (and optionally flatten), release it, or show it."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from traider.cli.context import console, load_settings

app = typer.Typer(help="Engage, release or show the kill switch; every use is audited.", no_args_is_help=True)

ACTOR_HELP = "Who is doing this (default: the OS user)."


@app.command()
def engage(
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the audit log).")],
    flatten: Annotated[bool, typer.Option("--flatten", help="Also close every open position.")] = False,
    actor: Annotated[str, typer.Option("--actor", help=ACTOR_HELP)] = "",
) -> None:
    """Engage the kill switch: workers refuse new exposure from their next bar (and flatten if asked)."""
    from traider.db.engine import application_engine
    from traider.risk.kill_switch import engage as engage_switch

    state = engage_switch(
        application_engine(load_settings()), actor=actor or getpass.getuser(), reason=reason, flatten=flatten
    )
    console.print(
        f"kill switch ENGAGED by {state.actor} at {state.changed_at:%Y-%m-%d %H:%M:%S %Z}"
        f"{' (flatten positions)' if flatten else ''}: {state.reason}"
    )


@app.command()
def release(
    reason: Annotated[str, typer.Option("--reason", help="Why trading may resume.")],
    actor: Annotated[str, typer.Option("--actor", help=ACTOR_HELP)] = "",
) -> None:
    """Release the kill switch so workers may trade again."""
    from traider.db.engine import application_engine
    from traider.risk.kill_switch import release as release_switch

    state = release_switch(application_engine(load_settings()), actor=actor or getpass.getuser(), reason=reason)
    console.print(f"kill switch released by {state.actor}: {state.reason}")


@app.command()
def status() -> None:
    """Show whether the kill switch is engaged, since when, by whom and why."""
    from traider.db.engine import application_engine
    from traider.risk.kill_switch import current

    state = current(application_engine(load_settings()))
    if state.changed_at is None:
        console.print("kill switch released (never used)")
        return
    word = "ENGAGED" if state.engaged else "released"
    console.print(f"kill switch {word} since {state.changed_at:%Y-%m-%d %H:%M:%S %Z} by {state.actor}: {state.reason}")
