"""`traider dashboard`: make a password hash for a dashboard user, and run the operator dashboard."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from traider.cli.context import console
from traider.errors import ConfigurationError

app = typer.Typer(
    short_help="Run the operator dashboard (Streamlit) and make its users' password hashes.",
    help=(
        "The operator dashboard: P&L, positions, orders and fills, risk and the kill switch, models, data health, "
        "backtest against live. It needs a login: users and their scrypt hashes come from TRAIDER_DASHBOARD_USERS "
        "(`name:hash` entries, comma- or space-separated); without a user it does not start."
    ),
    no_args_is_help=True,
)

APP_SCRIPT = Path(__file__).resolve().parents[3] / "streamlit_app" / "app.py"


@app.command("hash-password")
def hash_password(
    user: Annotated[
        str | None, typer.Option("--user", help="Print a whole `name:hash` entry for TRAIDER_DASHBOARD_USERS.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")
    ] = False,
) -> None:
    """Print the scrypt hash of a password (asked twice, never echoed) for TRAIDER_DASHBOARD_USERS."""
    from traider.dashboard.auth import USER_NAME, hash_password

    if user is not None and not USER_NAME.match(user):
        raise ConfigurationError("--user: use letters, digits and _.@+- only (at most 64)")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    encoded = hash_password(password)
    console.print(f"{user}:{encoded}" if user else encoded, soft_wrap=True)


@app.command()
def run(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8501,
    address: Annotated[str, typer.Option(help="Address to listen on (default: this machine only).")] = "127.0.0.1",
    script: Annotated[Path, typer.Option(help="The dashboard's entry script.")] = APP_SCRIPT,
) -> None:
    """Run the dashboard with `streamlit run`; refuses to start when no user is configured."""
    from traider.dashboard.auth import configured_users

    users = configured_users()
    if not script.is_file():
        raise ConfigurationError(f"the dashboard script {script} does not exist; pass --script")
    command = [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.port", str(port), "--server.address", address, "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.runOnSave", "false", "--client.toolbarMode", "viewer",
    ]  # fmt: skip
    console.print(f"dashboard on http://{address}:{port} for {len(users)} user(s); Ctrl-C stops it")
    sys.stdout.flush()
    os.execv(sys.executable, command)  # become streamlit: signals (Ctrl-C, SIGTERM) reach it directly
