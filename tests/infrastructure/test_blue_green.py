"""scripts/deploy_blue_green.sh against stub `helm` and `kubectl` that log their arguments.

The stubs keep the live colours in files, as the chart keeps them in its ConfigMap and Service: `helm upgrade
--set worker.activeColor=X` moves them, `kubectl get configmap|service` reads them back.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.infrastructure.conftest import BLUE_GREEN, CHART, tool

HELM_STUB = r"""#!/usr/bin/env bash
echo "helm $*" >> "$STUB_LOG"
if [[ "$1" == "upgrade" ]]; then
  for argument in "$@"; do
    case "$argument" in
      worker.activeColor=*) echo "${argument#*=}" > "$STUB_STATE/worker" ;;
      dashboard.activeColor=*) echo "${argument#*=}" > "$STUB_STATE/dashboard" ;;
    esac
  done
fi
"""

KUBECTL_STUB = r"""#!/usr/bin/env bash
echo "kubectl $*" >> "$STUB_LOG"
case "$1 $2" in
  "get configmap")
    for argument in "$@"; do
      case "$argument" in
        "jsonpath={.data.worker}") cat "$STUB_STATE/worker" ;;
        "jsonpath={.data.dashboard}") cat "$STUB_STATE/dashboard" ;;
      esac
    done ;;
  "get service") cat "$STUB_STATE/dashboard" ;;
  "exec "*) [[ -n "${STUB_FAIL_EXEC:-}" && "$2" == *"$STUB_FAIL_EXEC"* ]] && exit 1 ;;
  "wait --for=delete") [[ -n "${STUB_NO_MATCH:-}" ]] && { echo "error: no matching resources found" >&2; exit 1; } ;;
  "get pods") ;;  # none left
esac
exit 0
"""

UPGRADE = f"helm upgrade traider {CHART} --namespace traider --reuse-values --timeout 10m"
WORKER_HEALTH = "python -c import urllib.request; urllib.request.urlopen('http://127.0.0.1:8081/health', timeout=10)"
DASHBOARD_HEALTH = (
    "python -c import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=10)"
)
SELECTOR = "app.kubernetes.io/instance=traider,app.kubernetes.io/component=execution-worker,traider.io/color"


@dataclass
class Cluster:
    """The stubs' directory: their log and the live colours."""

    root: Path

    @property
    def log(self) -> list[str]:
        path = self.root / "log"
        return path.read_text().splitlines() if path.exists() else []

    def color(self, component: str) -> str:
        return (self.root / "state" / component).read_text().strip()

    def run(self, *arguments: str, fail_exec: str = "", no_match: bool = False) -> subprocess.CompletedProcess[str]:
        environment = {
            "PATH": f"{self.root / 'bin'}{os.pathsep}/usr/bin:/bin",
            "STUB_LOG": str(self.root / "log"),
            "STUB_STATE": str(self.root / "state"),
            "STUB_FAIL_EXEC": fail_exec,
            "STUB_NO_MATCH": "1" if no_match else "",
        }
        return subprocess.run(
            ["bash", str(BLUE_GREEN), "--chart", str(CHART), *arguments],
            capture_output=True, text=True, timeout=60, check=False, env=environment,
        )  # fmt: skip


@pytest.fixture
def cluster(tmp_path: Path) -> Cluster:
    (tmp_path / "bin").mkdir()
    (tmp_path / "state").mkdir()
    for name, text in (("helm", HELM_STUB), ("kubectl", KUBECTL_STUB)):
        stub = tmp_path / "bin" / name
        stub.write_text(text)
        stub.chmod(0o755)
    (tmp_path / "state" / "worker").write_text("blue\n")
    (tmp_path / "state" / "dashboard").write_text("blue\n")
    return Cluster(tmp_path)


def read_colors() -> list[str]:
    return [
        "kubectl get configmap traider-blue-green --namespace traider -o jsonpath={.data.worker}",
        "kubectl get configmap traider-blue-green --namespace traider -o jsonpath={.data.dashboard}",
    ]


def hand_over(to: str, old: str) -> list[str]:
    return [
        f"{UPGRADE} --set worker.activeColor=none",
        f"kubectl wait --for=delete pod --selector {SELECTOR}={old} --namespace traider --timeout 10m",
        f"{UPGRADE} --set worker.activeColor={to}",
        f"kubectl rollout status deployment/traider-execution-worker-{to} --namespace traider --timeout 10m",
        f"kubectl exec deployment/traider-execution-worker-{to} --namespace traider -- {WORKER_HEALTH}",
    ]


def switch_dashboard(to: str) -> list[str]:
    return [
        f"{UPGRADE} --set dashboard.activeColor={to}",
        "kubectl get service traider-dashboard --namespace traider -o jsonpath={.spec.selector.traider\\.io/color}",
    ]


def test_the_script_parses_and_passes_shellcheck() -> None:
    assert subprocess.run(["bash", "-n", str(BLUE_GREEN)], check=False).returncode == 0
    done = subprocess.run([tool("shellcheck"), "-x", str(BLUE_GREEN)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout
    assert os.access(BLUE_GREEN, os.X_OK)
    assert "set -euo pipefail" in BLUE_GREEN.read_text()


def test_help_and_usage_errors(cluster: Cluster) -> None:
    done = cluster.run("--help")
    assert done.returncode == 0
    for option in ("--tag", "--rollback", "--retire", "--component", "--dry-run", "--namespace"):
        assert option in done.stdout
    assert cluster.run().returncode == 2  # no --tag
    assert cluster.run("--tag", "1", "--component", "airflow").returncode == 2
    assert cluster.run("--rollback", "--tag", "1").returncode == 2
    assert cluster.run("--bogus").returncode == 2
    assert cluster.log == []  # a usage error touches nothing


def test_deploy_brings_up_the_idle_colour_checks_it_then_switches(cluster: Cluster) -> None:
    done = cluster.run("--tag", "0.2.0")
    assert done.returncode == 0, done.stderr
    assert cluster.log == [
        *read_colors(),
        f"{UPGRADE} --set worker.colors.green.enabled=true --set worker.colors.green.imageTag=0.2.0"
        " --set dashboard.colors.green.enabled=true --set dashboard.colors.green.imageTag=0.2.0"
        " --set migrations.imageTag=0.2.0",
        "kubectl rollout status deployment/traider-dashboard-green --namespace traider --timeout 10m",
        f"kubectl exec deployment/traider-dashboard-green --namespace traider -- {DASHBOARD_HEALTH}",
        *hand_over("green", "blue"),
        *switch_dashboard("green"),
    ]
    assert (cluster.color("worker"), cluster.color("dashboard")) == ("green", "green")
    assert "--rollback" in done.stderr  # tells how to go back


def test_rollback_returns_to_the_previous_colour(cluster: Cluster) -> None:
    assert cluster.run("--tag", "0.2.0").returncode == 0
    before = len(cluster.log)
    done = cluster.run("--rollback")
    assert done.returncode == 0, done.stderr
    assert cluster.log[before:] == [
        "kubectl get configmap traider-blue-green --namespace traider -o jsonpath={.data.dashboard}",
        "kubectl rollout status deployment/traider-dashboard-blue --namespace traider --timeout 10m",
        f"kubectl exec deployment/traider-dashboard-blue --namespace traider -- {DASHBOARD_HEALTH}",
        *switch_dashboard("blue"),
        "kubectl get configmap traider-blue-green --namespace traider -o jsonpath={.data.worker}",
        *hand_over("blue", "green"),
    ]
    assert (cluster.color("worker"), cluster.color("dashboard")) == ("blue", "blue")


def test_a_worker_that_fails_its_check_hands_back_to_the_old_colour(cluster: Cluster) -> None:
    done = cluster.run("--tag", "0.2.0", fail_exec="execution-worker-green")
    assert done.returncode == 1
    assert "hand-over to green failed; blue is live again" in done.stderr
    log = cluster.log
    failed = log.index(f"kubectl exec deployment/traider-execution-worker-green --namespace traider -- {WORKER_HEALTH}")
    assert log[failed + 1 :] == hand_over("blue", "green")
    assert not any("dashboard.activeColor" in line for line in log)  # the dashboard was never switched
    assert (cluster.color("worker"), cluster.color("dashboard")) == ("blue", "blue")


def test_a_dashboard_that_fails_its_smoke_check_is_never_switched_to(cluster: Cluster) -> None:
    done = cluster.run("--tag", "0.2.0", fail_exec="dashboard-green")
    assert done.returncode == 1
    assert "the Service still selects blue" in done.stderr
    assert not any("activeColor" in line for line in cluster.log)  # neither component moved
    assert (cluster.color("worker"), cluster.color("dashboard")) == ("blue", "blue")


def test_a_wait_with_no_pod_left_counts_as_gone(cluster: Cluster) -> None:
    done = cluster.run("--tag", "0.2.0", "--component", "worker", no_match=True)
    assert done.returncode == 0, done.stderr
    selector = f"{SELECTOR}=blue"
    assert f"kubectl get pods --selector {selector} --namespace traider -o name" in cluster.log
    assert cluster.color("worker") == "green"


def test_one_component_alone(cluster: Cluster) -> None:
    done = cluster.run("--tag", "0.3.0", "--component", "dashboard", "--namespace", "traider")
    assert done.returncode == 0, done.stderr
    assert not any("worker" in line for line in cluster.log)
    assert (cluster.color("worker"), cluster.color("dashboard")) == ("blue", "green")


def test_dry_run_only_reads(cluster: Cluster) -> None:
    done = cluster.run("--tag", "0.2.0", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert cluster.log == read_colors()
    planned = [line.removeprefix("DRY-RUN: ") for line in done.stdout.splitlines()]
    assert planned[0].startswith(f"{UPGRADE} --set worker.colors.green.enabled=true")
    assert f"{UPGRADE} --set worker.activeColor=green" in planned
    assert f"{UPGRADE} --set dashboard.activeColor=green" in planned
    assert (cluster.color("worker"), cluster.color("dashboard")) == ("blue", "blue")


def test_retire_removes_the_idle_colour(cluster: Cluster) -> None:
    assert cluster.run("--tag", "0.2.0").returncode == 0
    before = len(cluster.log)
    assert cluster.run("--retire").returncode == 0
    assert cluster.log[before:] == [
        *read_colors(),
        f"{UPGRADE} --set worker.colors.blue.enabled=false --set dashboard.colors.blue.enabled=false",
    ]


def test_an_interrupted_hand_over_is_reported_not_guessed(cluster: Cluster) -> None:
    (cluster.root / "state" / "worker").write_text("none\n")
    done = cluster.run("--tag", "0.2.0")
    assert done.returncode == 1
    assert "the worker is stopped (activeColor=none)" in done.stderr
    assert not any(line.startswith("helm") for line in cluster.log)
