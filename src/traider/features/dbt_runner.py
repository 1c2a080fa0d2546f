"""Build the feature marts: one `dbt build` of the project in `dbt/`, in a child process.

The build_features DAG calls `build_features()`. dbt runs as its own process (`python -m dbt.cli.main`,
the same virtualenv) rather than in-process through `dbtRunner`: dbt keeps process-wide state (its
logging, the adapter registry, flags), its documentation says an invocation is not safe alongside
another in the same process, and the database password then lives only in the child's environment.
The price is the interpreter start, about two seconds per build (ADR-0007). The outcome is read from
`run_results.json`.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from traider.config import Settings, get_settings
from traider.errors import TraiderError
from traider.features.online import timeframe_seconds
from traider.features.profile import dbt_environment

log = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parents[3] / "dbt"
DEFAULT_TIMEOUT_S = 3600
_TEST_PREFIXES = ("test.", "unit_test.")
_PASSED = {"pass", "success"}
_FAILED = {"fail", "error", "runtime error"}


class FeatureBuildError(TraiderError):
    """The dbt build of the features failed; the message names the failed models and tests."""

    def __init__(self, message: str, *, failed: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.failed = tuple(failed)


@dataclass(frozen=True)
class BuildResult:
    """What one feature build did: dbt's invocation id, the models built, the tests that passed and failed.

    A failing test of severity `error` (every test of the project) fails the build instead; `tests_failed`
    counts the tests that failed at severity `warn`.
    """

    invocation_id: str
    models: tuple[str, ...]
    tests_passed: int
    tests_failed: int
    elapsed_s: float
    full_refresh: bool
    docs: Path | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-able summary (for XCom)."""
        document = asdict(self)
        document["models"] = list(self.models)
        document["docs"] = str(self.docs) if self.docs else None
        return document


def build_features(
    settings: Settings | None = None,
    *,
    full_refresh: bool = False,
    select: Sequence[str] = (),
    variables: Mapping[str, Any] | None = None,
    generate_docs: bool = False,
    project_dir: Path | None = None,
    timeout_s: int = DEFAULT_TIMEOUT_S,
) -> BuildResult:
    """Run `dbt build` (models, then their unit and data tests) of the feature project and return the outcome.

    The connection comes from `settings` (TRAIDER_DATABASE_URL, or the embedded server); dbt's target
    and logs go to `$TRAIDER_HOME/dbt/`, and with `generate_docs` its documentation site to
    `$TRAIDER_HOME/dbt_docs/`. `variables` override the project's vars (timeframes, horizons …);
    `select` narrows the build (dbt node selection). Builds sharing a TRAIDER_HOME run one at a time.
    Raise FeatureBuildError, with one line naming what failed, when a model or a test fails.
    """
    from traider.db.url import check_reachable, resolve_database_url

    settings = settings or get_settings()
    project = (project_dir or PROJECT_DIR).resolve()
    if not (project / "dbt_project.yml").is_file():
        raise FeatureBuildError(f"no dbt project at {project} (dbt_project.yml missing)")
    arguments = _build_arguments(full_refresh=full_refresh, select=select, variables=variables)
    url = resolve_database_url(settings)
    check_reachable(url, timeout_s=settings.database_connect_timeout_s)
    environment = {**os.environ, **dbt_environment(url, settings)}
    home = settings.home.expanduser().resolve()
    target, logs = home / "dbt" / "target", home / "dbt" / "logs"
    with _exclusive(home / "dbt" / "build.lock"):
        started = time.perf_counter()
        (target / "run_results.json").unlink(missing_ok=True)
        code, output = _run_dbt(["build"], arguments, project, target, logs, environment, timeout_s)
        results = _read_run_results(target, output)
        elapsed = time.perf_counter() - started
        outcome = _summarise(results, elapsed, full_refresh=full_refresh)
        if code != 0:  # every node passed, yet dbt failed (an on-run-end hook, say)
            raise FeatureBuildError(f"dbt build exited with status {code}: {_first_error(output)}")
        docs = _generate_docs(project, home / "dbt_docs", logs, environment, timeout_s) if generate_docs else None
    log.info(
        "dbt build %s: %d models, %d tests passed in %.1f s",
        outcome.invocation_id,
        len(outcome.models),
        outcome.tests_passed,
        elapsed,
    )
    return replace(outcome, docs=docs)


def _build_arguments(*, full_refresh: bool, select: Sequence[str], variables: Mapping[str, Any] | None) -> list[str]:
    """Return the dbt build options; raise FeatureBuildError for bad timeframes or horizons."""
    arguments = ["--full-refresh"] if full_refresh else []
    if select:
        arguments += ["--select", *select]
    if variables:
        _check_variables(variables)
        try:
            arguments += ["--vars", json.dumps(dict(variables))]
        except (TypeError, ValueError) as error:
            raise FeatureBuildError(f"dbt vars must be JSON values: {error}") from None
    return arguments


def _check_variables(variables: Mapping[str, Any]) -> None:
    timeframes = variables.get("timeframes")
    if timeframes is not None:
        if isinstance(timeframes, str) or not timeframes:
            raise FeatureBuildError(f"timeframes must be a non-empty list such as ['1h'], not {timeframes!r}")
        for timeframe in timeframes:
            try:
                timeframe_seconds(str(timeframe))
            except ValueError as error:
                raise FeatureBuildError(f"timeframes: {error}") from None
    horizons = variables.get("horizons")
    if horizons is not None:
        if isinstance(horizons, str) or not horizons:
            raise FeatureBuildError(f"horizons must be a non-empty list of bar counts, not {horizons!r}")
        bad = [horizon for horizon in horizons if not isinstance(horizon, int) or horizon < 1]
        if bad:
            raise FeatureBuildError(f"horizons must be whole numbers of bars >= 1, not {bad[0]!r}")


def _run_dbt(
    command: list[str],
    options: list[str],
    project: Path,
    target: Path,
    logs: Path,
    environment: dict[str, str],
    timeout_s: int,
) -> tuple[int, list[str]]:
    """Run one dbt command in a child process, log its output line by line; return its exit code and lines."""
    arguments = [
        sys.executable, "-m", "dbt.cli.main", *command,
        "--project-dir", str(project), "--profiles-dir", str(project),
        "--target-path", str(target), "--log-path", str(logs), "--no-use-colors", *options,
    ]  # fmt: skip
    log.info("running dbt %s", " ".join([*command, *options]))
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    with subprocess.Popen(
        arguments, cwd=project, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            log.info("dbt: %s", lines[-1])
            if time.monotonic() > deadline:
                process.kill()
                raise FeatureBuildError(f"dbt {' '.join(command)} took longer than {timeout_s} s and was stopped")
        code = process.wait()
    return code, lines


def _read_run_results(target: Path, output: list[str]) -> dict[str, Any]:
    path = target / "run_results.json"
    if not path.is_file():
        raise FeatureBuildError(f"dbt build stopped before running anything: {_first_error(output)}")
    results: dict[str, Any] = json.loads(path.read_text())
    return results


def _summarise(results: dict[str, Any], elapsed: float, *, full_refresh: bool) -> BuildResult:
    """Count models and tests; raise FeatureBuildError naming every failed node."""
    nodes = results.get("results", [])
    failed = [node for node in nodes if node.get("status") in _FAILED]
    if failed:
        names = ", ".join(f"{_kind(node)} {_name(node)} ({_message(node)})" for node in failed[:5])
        more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
        raise FeatureBuildError(
            f"dbt build failed: {len(failed)} of {len(nodes)} nodes: {names}{more}",
            failed=[_name(node) for node in failed],
        )
    built = [node for node in nodes if node["unique_id"].startswith("model.") and node["status"] in _PASSED]
    tests = [node for node in nodes if node["unique_id"].startswith(_TEST_PREFIXES)]
    return BuildResult(
        invocation_id=str(results.get("metadata", {}).get("invocation_id", "")),
        models=tuple(_name(node) for node in built),
        tests_passed=sum(node["status"] in _PASSED for node in tests),
        tests_failed=sum(node["status"] == "warn" for node in tests),
        elapsed_s=elapsed,
        full_refresh=full_refresh,
    )


def _generate_docs(project: Path, site: Path, logs: Path, environment: dict[str, str], timeout_s: int) -> Path | None:
    """Write dbt's documentation site to `site`; a failure here is logged, never raised."""
    try:
        code, output = _run_dbt(["docs", "generate"], ["--static"], project, site, logs, environment, timeout_s)
    except (OSError, FeatureBuildError):
        log.warning("could not generate the dbt docs in %s", site, exc_info=True)
        return None
    if code != 0:
        log.warning("could not generate the dbt docs in %s: %s", site, _first_error(output))
        return None
    index = site / "static_index.html"
    if not index.is_file():
        log.warning("dbt docs generate wrote no %s", index)
        return None
    return index


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if missing) while the block runs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _kind(node: Mapping[str, Any]) -> str:
    return str(node["unique_id"]).split(".", 1)[0].replace("_", " ")


def _name(node: Mapping[str, Any]) -> str:
    return str(node["unique_id"]).split(".")[2] if str(node["unique_id"]).count(".") >= 2 else str(node["unique_id"])


def _message(node: Mapping[str, Any]) -> str:
    message = " ".join(str(node.get("message") or node.get("status")).split())
    return message if len(message) <= 200 else message[:197] + "..."


def _first_error(output: list[str]) -> str:
    """Return the first error dbt printed, on one line (or the last line it printed)."""
    for index, line in enumerate(output):
        text = _strip_prefix(line)
        if "Error" in text or text.startswith("Encountered an error"):
            following = [_strip_prefix(item) for item in output[index + 1 : index + 4] if _strip_prefix(item)]
            return " ".join([text, *following]) if text.endswith((":", "error")) else text
    return _strip_prefix(output[-1]) if output else "no output"


def _strip_prefix(line: str) -> str:
    """Drop dbt's colour codes and the time stamp at the start of its lines."""
    import re

    text = re.sub(r"\x1b\[[0-9;]*m", "", line).strip()
    return re.sub(r"^\d\d:\d\d:\d\d\s+", "", text)
