"""The Terraform module and its example, parsed offline (`terraform validate` needs the AWS provider download)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest
from hcl2.utils import SerializationOptions

from tests.infrastructure.conftest import TERRAFORM

# plain values: string literals without their quotes, blocks without python-hcl2's "__is_block__" marker
OPTIONS = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)
MODULE = TERRAFORM / "modules" / "k8s_cluster"
EXAMPLE = TERRAFORM / "examples" / "eks"


def parse(directory: Path) -> dict[str, list[Any]]:
    """Merge the top-level blocks of every .tf file in a directory."""
    blocks: dict[str, list[Any]] = {}
    for path in sorted(directory.glob("*.tf")):
        with path.open() as handle:
            for kind, items in hcl2.load(handle, serialization_options=OPTIONS).items():
                blocks.setdefault(kind, []).extend(items)
    return blocks


def named(blocks: dict[str, list[Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {name: body for item in blocks.get(kind, []) for name, body in item.items()}


def resources(blocks: dict[str, list[Any]]) -> dict[str, dict[str, Any]]:
    return {f"{kind}.{name}": body for item in blocks.get("resource", []) for kind, by_name in item.items()
            for name, body in by_name.items()}  # fmt: skip


@pytest.mark.parametrize("directory", [MODULE, EXAMPLE], ids=["module", "example"])
def test_every_file_parses_and_every_variable_and_output_is_documented(directory: Path) -> None:
    blocks = parse(directory)
    variables, outputs = named(blocks, "variable"), named(blocks, "output")
    assert variables and outputs
    for name, body in variables.items():
        assert body.get("description"), f"variable {name} has no description"
        assert body.get("type"), f"variable {name} has no type"
    for name, body in outputs.items():
        assert body.get("description"), f"output {name} has no description"
    (terraform,) = blocks["terraform"]
    assert terraform["required_version"].startswith(">=")
    assert terraform["required_providers"][0]["aws"]["source"] == "hashicorp/aws"


def test_the_module_builds_a_managed_cluster_with_encrypted_secrets_and_nodes() -> None:
    found = resources(parse(MODULE))
    cluster = found["aws_eks_cluster.this"]
    assert cluster["encryption_config"][0]["resources"] == ["secrets"]
    assert cluster["vpc_config"][0]["endpoint_private_access"] is True
    assert "aws_eks_node_group.default" in found
    assert "aws_eks_addon.ebs_csi" in found  # the chart's PersistentVolumeClaims need a CSI driver
    outputs = named(parse(MODULE), "output")
    assert {"cluster_name", "cluster_endpoint", "cluster_certificate_authority_data", "kubeconfig_command"} <= set(
        outputs
    )


def test_the_example_passes_every_required_variable_of_the_module() -> None:
    module_variables = named(parse(MODULE), "variable")
    required = {name for name, body in module_variables.items() if "default" not in body}
    (call,) = [body for name, body in named(parse(EXAMPLE), "module").items() if name == "cluster"]
    assert call["source"] == "../../modules/k8s_cluster"
    arguments = set(call) - {"source", "depends_on"}
    assert required <= arguments, required - arguments
    assert arguments <= set(module_variables), arguments - set(module_variables)


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed on this machine")
def test_terraform_fmt_finds_nothing_to_change() -> None:
    done = subprocess.run(["terraform", "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
