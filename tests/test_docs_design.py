"""docs/design.md (issue 13, case 10): in the repository, cited by the code, its deviation table true to the code."""
from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path

from gwrep.models.gwae import GWAEConfig

ROOT = Path(__file__).resolve().parents[1]
DESIGN = ROOT / "docs" / "design.md"


def _deviation_rows() -> list[list[str]]:
    text = DESIGN.read_text()
    table = text.split("<!-- deviations-table", 1)[1].split("<!-- end of deviations-table -->", 1)[0]
    lines = [line for line in table.splitlines() if line.startswith("| ")][1:]  # drop the header
    return [[cell.strip() for cell in line.strip().strip("|").split(" | ")] for line in lines]


def test_no_file_cites_a_design_page_outside_the_repository():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    sources = [ROOT / p for p in tracked if p.endswith((".py", ".md", ".yaml", ".toml")) and (ROOT / p).is_file()
               and (ROOT / p).resolve() != Path(__file__).resolve()]  # this file names what it looks for
    citing = [str(p.relative_to(ROOT)) for p in sources if "DESIGN.md" in p.read_text(errors="replace")]
    assert citing == []
    assert DESIGN.is_file()


def test_every_deviation_row_names_a_real_switch_and_file():
    rows = _deviation_rows()
    assert len(rows) >= 6 and all(len(row) == 5 for row in rows)
    fields = {f.name for f in dataclasses.fields(GWAEConfig)}
    for name, _authors, _default, switch, where in rows:
        for option in re.findall(r"`(\w+) = ", switch):
            assert option in fields | {"protocol"}, f"{name}: {option} is not an option"
        for path in re.findall(r"`([\w./-]+\.(?:py|yaml))`", where):
            assert (ROOT / path).is_file(), f"{name}: {path} does not exist"


def test_the_code_s_deviations_are_in_the_table():
    """Every option whose docstring calls itself a deviation from the authors has a row."""
    doc = GWAEConfig.__doc__ or ""
    flagged = re.findall(r"\n\s{8}(\w+): (?:(?!\n\s{8}\w+: ).)*?Deviation from the\s+authors", doc, re.S)
    assert {"critic_resample", "logvar_max"} <= set(flagged)
    switches = " ".join(row[3] + row[4] for row in _deviation_rows())
    assert all(option in switches for option in flagged)
    assert "hard_gumbel_max" in switches  # priors/mixture.py: the authors' hard Gumbel-max
