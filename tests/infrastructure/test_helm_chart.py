"""The Helm chart, rendered offline by Helm's own engine and checked against the Kubernetes JSON schemas.

`helm-python-sdk` embeds the Helm v4 Go SDK (no helm binary, no cluster). The Airflow dependency cannot be
downloaded here, so every render sets `airflow.enabled=false` (its `condition:`); the values handed to the
subchart are checked as data at the end.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from tests.infrastructure.conftest import CHART

KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")  # oldest EKS/K3s line we support, newest schemas shipped
RELEASE, NAMESPACE = "traider", "trading"
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|DATABASE_URL|USERS|FERNET|CONNECTION", re.IGNORECASE)
WORKLOADS = ("Deployment", "StatefulSet", "Job")

VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "everything-on": {"timescaledb": {"enabled": True}, "networkPolicy": {"enabled": True}},
    "green-live-both-colours": {
        "worker": {
            "activeColor": "green",
            "probeType": "httpGet",
            "healthHost": "0.0.0.0",
            "colors": {"blue": {"enabled": True}, "green": {"enabled": True, "imageTag": "0.2.0"}},
        },
        "dashboard": {
            "activeColor": "green",
            "colors": {"blue": {"enabled": True}, "green": {"enabled": True, "imageTag": "0.2.0"}},
        },
    },
    "migrations-of-a-new-colour": {"migrations": {"imageTag": "0.2.0"}},
    "worker-hand-over-pause": {
        "worker": {"activeColor": "none", "colors": {"blue": {"enabled": True}, "green": {"enabled": True}}}
    },
    "external-mlflow": {
        "mlflow": {"enabled": False},
        "config": {"mlflowTrackingUri": "http://mlflow.example:5000"},
        "migrations": {"enabled": False},
    },
}


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    """Render the chart (Airflow subchart off) and return its Kubernetes objects."""
    merged = copy.deepcopy(values)
    merged.setdefault("airflow", {})["enabled"] = False
    with helm.Chart.load(CHART) as chart:
        manifests = chart.render(merged, name=RELEASE, namespace=NAMESPACE, is_install=True)
    objects = []
    for path, text in sorted(manifests.items()):
        if path.endswith(".yaml"):
            objects += [document for document in yaml.safe_load_all(text) if document]
    return objects


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {name: render(values) for name, values in VALUE_SETS.items()}


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {item["metadata"]["name"]: item for item in objects if item["kind"] == kind}


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def containers(workload: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = pod_spec(workload)
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def test_every_manifest_is_valid_for_the_kubernetes_schemas(rendered: dict[str, list[dict[str, Any]]]) -> None:
    checked = 0
    for name, objects in rendered.items():
        assert objects, name
        for item in objects:
            for version in KUBERNETES_VERSIONS:
                try:
                    kubernetes_validate.validate(item, version, strict=True)
                except kubernetes_validate.ValidationError as error:
                    pytest.fail(f"{name}: {item['kind']}/{item['metadata']['name']} on {version}: {error.message} "
                                f"at {list(error.path)}")  # fmt: skip
                checked += 1
    assert checked >= 60


def test_the_defaults_render_the_expected_objects(rendered: dict[str, list[dict[str, Any]]]) -> None:
    objects = rendered["defaults"]
    assert set(by_kind(objects, "Deployment")) == {
        "traider-execution-worker-blue",
        "traider-dashboard-blue",
        "traider-mlflow",
    }
    assert set(by_kind(objects, "Service")) == {"traider-dashboard", "traider-mlflow"}
    (job,) = by_kind(objects, "Job").values()
    assert job["metadata"]["name"] == "traider-migrate"
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,pre-upgrade"
    assert pod_spec(job)["containers"][0]["args"] == ["traider", "db", "migrate"]
    assert "Secret" not in {item["kind"] for item in objects}
    assert set(by_kind(rendered["everything-on"], "StatefulSet")) == {"traider-timescaledb"}
    assert len(by_kind(rendered["everything-on"], "NetworkPolicy")) == 4


def test_every_workload_has_probes_resources_and_a_non_root_security_context(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    for name, objects in rendered.items():
        for workload in (item for item in objects if item["kind"] in WORKLOADS):
            where = f"{name}: {workload['kind']}/{workload['metadata']['name']}"
            pod = pod_spec(workload)
            assert pod["securityContext"]["runAsNonRoot"] is True, where
            assert pod["securityContext"]["runAsUser"] > 0, where
            assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
            assert pod["automountServiceAccountToken"] is False, where
            for container in containers(workload):
                resources = container["resources"]
                assert {"cpu", "memory"} <= set(resources["requests"]), where
                assert {"cpu", "memory"} <= set(resources["limits"]), where
                context = container["securityContext"]
                assert context["allowPrivilegeEscalation"] is False, where
                assert context["capabilities"]["drop"] == ["ALL"], where
                assert context["readOnlyRootFilesystem"] is True, where
                assert context.get("runAsUser", 1) != 0, where
                if workload["kind"] != "Job":
                    assert "livenessProbe" in container, where
                    assert "readinessProbe" in container, where


def probe_target(probe: dict[str, Any], ports: dict[str, int]) -> str:
    """Return what a probe asks for as 'port path'."""
    if "httpGet" in probe:
        port = probe["httpGet"]["port"]
        return f"{ports.get(port, port)} {probe['httpGet']['path']}"
    command = " ".join(probe["exec"]["command"])
    match = re.search(r"http://127\.0\.0\.1:(\d+)(/\S*?)'", command)
    assert match, command
    return f"{match.group(1)} {match.group(2)}"


@pytest.mark.parametrize(
    ("value_set", "deployment", "target"),
    [
        ("defaults", "traider-execution-worker-blue", "8081 /health"),
        ("green-live-both-colours", "traider-execution-worker-green", "8081 /health"),
        ("defaults", "traider-dashboard-blue", "8501 /_stcore/health"),
        ("defaults", "traider-mlflow", "5000 /health"),
    ],
)
def test_probes_ask_each_service_s_health_endpoint(
    rendered: dict[str, list[dict[str, Any]]], value_set: str, deployment: str, target: str
) -> None:
    workload = by_kind(rendered[value_set], "Deployment")[deployment]
    container = pod_spec(workload)["containers"][0]
    ports = {port["name"]: port["containerPort"] for port in container.get("ports", [])}
    for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert probe_target(container[kind], ports) == target, kind


def test_the_worker_probe_is_httpget_on_the_pod_address_by_default(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    default = pod_spec(by_kind(rendered["defaults"], "Deployment")["traider-execution-worker-blue"])["containers"][0]
    assert default["livenessProbe"]["httpGet"] == {"path": "/health", "port": "health"}
    assert default["readinessProbe"]["httpGet"] == {"path": "/health", "port": "health"}
    assert "--health-port" in default["args"]
    assert default["args"][-2:] == ["--health-host", "0.0.0.0"]  # the kubelet reaches it on the pod's address


def test_the_worker_probe_can_run_inside_the_container_instead() -> None:
    objects = render({"worker": {"probeType": "exec", "healthHost": ""}})
    container = pod_spec(by_kind(objects, "Deployment")["traider-execution-worker-blue"])["containers"][0]
    assert "exec" in container["livenessProbe"]
    assert "--health-host" not in container["args"]


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container.get("env", [])}


def test_secrets_are_only_referenced_never_written(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for name, objects in rendered.items():
        assert all(item["kind"] != "Secret" for item in objects), name
        for workload in (item for item in objects if item["kind"] in WORKLOADS):
            for container in containers(workload):
                for variable, item in env_of(container).items():
                    if SECRET_NAME.search(variable):
                        assert "value" not in item, f"{name}: {variable} holds a literal value"
                        assert item["valueFrom"]["secretKeyRef"]["name"] == "traider-secrets", variable
        for config_map in by_kind(objects, "ConfigMap").values():
            for key, value in config_map.get("data", {}).items():
                assert not re.search(r"PASSWORD\s*=?\s*'", value, re.IGNORECASE), (config_map["metadata"], key)


def test_every_traider_container_gets_the_database_url_and_mlflow_credentials_from_the_secret(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    deployments = by_kind(rendered["defaults"], "Deployment") | by_kind(rendered["defaults"], "Job")
    for workload_name, workload in deployments.items():
        env = env_of(pod_spec(workload)["containers"][0])
        assert env["TRAIDER_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == "database-url", workload_name
        assert env["MLFLOW_TRACKING_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == "mlflow-admin-password"
    dashboard = env_of(pod_spec(deployments["traider-dashboard-blue"])["containers"][0])
    assert dashboard["TRAIDER_DASHBOARD_USERS"]["valueFrom"]["secretKeyRef"]["key"] == "dashboard-users"
    worker = env_of(pod_spec(deployments["traider-execution-worker-blue"])["containers"][0])
    assert worker["TRAIDER_MLFLOW_TRACKING_URI"]["value"] == "http://traider-mlflow:5000"
    mlflow = pod_spec(deployments["traider-mlflow"])["containers"][0]
    assert mlflow["args"][:2] == ["python", "/app/infrastructure/docker/mlflow_entrypoint.py"]
    hosts = env_of(mlflow)["MLFLOW_SERVER_ALLOWED_HOSTS"]["value"].split(",")
    assert {"traider-mlflow", "traider-mlflow:5000", f"traider-mlflow.{NAMESPACE}.svc.cluster.local:5000"} <= set(hosts)


def test_blue_green_state_selects_the_live_colour(rendered: dict[str, list[dict[str, Any]]]) -> None:
    blue = rendered["defaults"]
    assert by_kind(blue, "Service")["traider-dashboard"]["spec"]["selector"]["traider.io/color"] == "blue"
    assert by_kind(blue, "ConfigMap")["traider-blue-green"]["data"] == {"worker": "blue", "dashboard": "blue"}

    green = rendered["green-live-both-colours"]
    deployments = by_kind(green, "Deployment")
    assert deployments["traider-execution-worker-green"]["spec"]["replicas"] == 1
    assert deployments["traider-execution-worker-blue"]["spec"]["replicas"] == 0  # kept for a rollback
    assert deployments["traider-dashboard-blue"]["spec"]["replicas"] == 2  # still serving until retired
    assert by_kind(green, "Service")["traider-dashboard"]["spec"]["selector"]["traider.io/color"] == "green"
    assert (
        by_kind(green, "PodDisruptionBudget")["traider-dashboard"]["spec"]["selector"]["matchLabels"][
            "traider.io/color"
        ]
        == "green"
    )
    assert by_kind(green, "ConfigMap")["traider-blue-green"]["data"] == {"worker": "green", "dashboard": "green"}
    green_image = pod_spec(deployments["traider-dashboard-green"])["containers"][0]["image"]
    assert green_image == "traider:0.2.0"
    assert pod_spec(deployments["traider-dashboard-blue"])["containers"][0]["image"] == "traider:0.1.0"

    migration = by_kind(rendered["migrations-of-a-new-colour"], "Job")["traider-migrate"]
    assert pod_spec(migration)["containers"][0]["image"] == "traider:0.2.0"

    paused = by_kind(rendered["worker-hand-over-pause"], "Deployment")
    workers = [item for name, item in paused.items() if "execution-worker" in name]
    assert len(workers) == 2
    assert all(item["spec"]["replicas"] == 0 for item in workers)


def test_a_worker_never_runs_two_pods(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for objects in rendered.values():
        for name, deployment in by_kind(objects, "Deployment").items():
            if "execution-worker" in name:
                assert deployment["spec"]["strategy"] == {"type": "Recreate"}
                assert deployment["spec"]["replicas"] in (0, 1)


def test_the_selectors_match_their_pods(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for objects in rendered.values():
        pods = [item for item in objects if item["kind"] in ("Deployment", "StatefulSet")]
        for workload in pods:
            labels = workload["spec"]["template"]["metadata"]["labels"]
            assert workload["spec"]["selector"]["matchLabels"].items() <= labels.items()
        for service in by_kind(objects, "Service").values():
            selector = service["spec"]["selector"].items()
            assert any(selector <= item["spec"]["template"]["metadata"]["labels"].items() for item in pods), service


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"worker": {"activeColor": "green"}}, "worker.colors.green.enabled is false"),
        ({"dashboard": {"activeColor": "green"}}, "dashboard.colors.green.enabled is false"),
        ({"worker": {"activeColour": "blue"}}, "additional properties 'activeColour' not allowed"),
        ({"config": {"extraEnv": {"BINANCE_API_SECRET": "x"}}}, "invalid propertyName 'BINANCE_API_SECRET'"),
        ({"mlflow": {"enabled": False}}, "config.mlflowTrackingUri is required"),
        ({"worker": {"probeType": "httpGet", "healthHost": ""}}, "worker.probeType=httpGet needs worker.healthHost"),
    ],
)
def test_invalid_values_are_refused(values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmError) as raised:
        render(values)
    assert message in str(raised.value)


def test_helm_lint_finds_nothing_but_the_dependency_it_cannot_download() -> None:
    report = helm.lint(CHART, {"airflow": {"enabled": False}}, strict=True, kube_version="v1.30.0")
    problems = [message["error"] for message in report["messages"] if message["severity"] >= 2]
    assert problems == ["chart directory is missing these dependencies: airflow"]


def test_the_official_airflow_chart_is_a_conditional_dependency() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["dependencies"] == [
        {
            "name": "airflow",
            "version": "1.22.0",
            "repository": "https://airflow.apache.org",
            "condition": "airflow.enabled",
        }
    ]


def test_the_airflow_values_run_traider_s_image_with_referenced_secrets() -> None:
    airflow = yaml.safe_load((CHART / "values.yaml").read_text())["airflow"]
    assert airflow["enabled"] is True
    assert airflow["airflowVersion"] == "3.3.2"
    assert airflow["executor"] == "LocalExecutor"
    assert airflow["images"]["airflow"]["repository"] == airflow["defaultAirflowRepository"] == "traider"
    assert airflow["postgresql"]["enabled"] is False
    assert airflow["data"] == {"metadataSecretName": "traider-airflow-metadata"}
    for key in ("fernetKeySecretName", "apiSecretKeySecretName", "jwtSecretName"):
        assert airflow[key].startswith("traider-airflow-")
    for literal in ("fernetKey", "jwtSecret", "apiSecretKey", "webserverSecretKey"):
        assert literal not in airflow
    assert airflow["config"]["core"]["dags_folder"] == "/app/dags"
    assert airflow["config"]["core"]["auth_manager"].endswith("SimpleAuthManager")
    assert {item["envName"] for item in airflow["secret"]} == {"TRAIDER_DATABASE_URL", "MLFLOW_TRACKING_PASSWORD"}
    assert "api-server" in airflow["apiServer"]["args"][-1]


def test_the_k3s_quick_start_creates_every_secret_the_charts_reference() -> None:
    readme = (CHART.parents[1] / "k3s" / "README.md").read_text()
    created: dict[str, set[str]] = {}
    for command in re.findall(r"create secret generic .*?(?=\n\S|\n\n|\Z)", readme, re.DOTALL):
        name = command.split()[3]
        created[name] = set(re.findall(r"--from-literal=([\w.-]+)=", command))
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert created[values["secrets"]["name"]] == set(values["secrets"]["keys"].values())
    airflow = values["airflow"]
    expected = {
        airflow["data"]["metadataSecretName"]: {"connection"},
        airflow["fernetKeySecretName"]: {"fernet-key"},
        airflow["apiSecretKeySecretName"]: {"api-secret-key"},
        airflow["jwtSecretName"]: {"jwt-secret"},
        airflow["volumes"][0]["secret"]["secretName"]: {"passwords.json"},
    }
    for name, keys in expected.items():
        assert created[name] == keys, name
    for item in airflow["secret"]:
        assert item["secretKey"] in created[item["secretName"]], item
