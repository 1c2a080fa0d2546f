"""`traider demo`: the main job end to end on the embedded PostgreSQL, as real Airflow DAG runs."""

from __future__ import annotations

from pathlib import Path

from traider.cli.context import console, load_settings
from traider.errors import TraiderError


class DemoFailed(TraiderError):
    """A required step of the demo failed."""


def demo() -> None:
    """Run the whole pipeline on shared data: ingest → quality → features → train → gate → paper trading →
    live replay, then print the summary (also written to reports/demo.json).

    Needs the embedded PostgreSQL started and migrated (`make demo` does both first). Progress is printed as it
    goes; the DAG runs' own logs go to $TRAIDER_HOME/logs/demo-dag-runs.log.
    """
    from traider.db.engine import application_engine
    from traider.demo.pipeline import DemoError, run_demo
    from traider.demo.summary import gather, render, write

    settings = load_settings()

    def say(message: str) -> None:
        console.print(message, highlight=False)

    try:
        outcome = run_demo(settings, say)
    except DemoError as error:
        raise DemoFailed(f"demo: {error}") from None
    engine = application_engine(settings)
    try:
        summary = gather(settings, engine, outcome)
    finally:
        engine.dispose()
    write(summary, Path("reports") / "demo.json")
    render(summary, console)
