from __future__ import annotations

import re
from pathlib import Path

import pytest

ADR_DIR = Path(__file__).resolve().parents[2] / "docs" / "adr"
REQUIRED_SECTIONS = ("Status", "Context", "Decision", "Consequences")
ADRS = sorted(ADR_DIR.glob("ADR-*.md"))


def test_initial_architecture_adr_exists() -> None:
    assert (ADR_DIR / "ADR-0001-initial-architecture.md").is_file()


@pytest.mark.parametrize("adr", ADRS, ids=lambda path: path.name)
def test_adr_has_required_sections(adr: Path) -> None:
    headings = {match.strip() for match in re.findall(r"^##\s+(.+)$", adr.read_text(), flags=re.MULTILINE)}
    missing = [section for section in REQUIRED_SECTIONS if section not in headings]
    assert not missing, f"{adr.name} lacks sections {missing}"
    assert re.match(r"^ADR-\d{4}-[a-z0-9-]+\.md$", adr.name), "name ADRs ADR-NNNN-kebab-title.md"


@pytest.mark.parametrize("adr", ADRS, ids=lambda path: path.name)
def test_adr_sections_are_not_empty(adr: Path) -> None:
    sections = re.split(r"^##\s+", adr.read_text(), flags=re.MULTILINE)[1:]
    for section in sections:
        title, _, body = section.partition("\n")
        if title.strip() in REQUIRED_SECTIONS:
            assert body.strip(), f"{adr.name}: section {title.strip()} is empty"
