"""Rebuild the measured half of ``docs/study.md`` from a study folder.

    python docs/study_page.py DIR          # DIR: the --out folder of `gwrep study ...`

``docs/study.md`` is two parts: the hand-written findings above the line ``MARKER`` (kept as they
are) and, below it, the report ``gwrep study`` wrote into ``DIR/study.md`` (headings one level
down, figure links pointing at ``docs/study/``, whose PNGs are replaced by ``DIR/figures/``); the
study's table ``DIR/study.csv`` is copied to ``docs/study/study.csv``.
Sphinx does not read this file (it builds ``.md`` and ``.rst`` pages only).
"""
from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

DOCS = Path(__file__).resolve().parent
MARKER = "## The report `gwrep study` wrote"


def report_section(report: str) -> str:
    """The report without its title, headings one level down, figures linked under ``study/``."""
    lines = report.splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    body = "\n".join(("#" + line) if line.startswith("#") else line for line in lines)
    return re.sub(r"\]\(figures/", "](study/", body).strip() + "\n"


def rebuild(study_dir: Path, page: Path = DOCS / "study.md", figures: Path = DOCS / "study") -> None:
    """Replace everything below ``MARKER`` in ``page`` with ``study_dir/study.md`` and copy its figures."""
    report = study_dir / "study.md"
    if not report.is_file():
        raise SystemExit(f"{report} does not exist: run `gwrep study NAME --out {study_dir} --report-only` first")
    text = page.read_text()
    if MARKER not in text:
        raise SystemExit(f"{page} has no line {MARKER!r} to put the report under")
    head = text.split(MARKER, 1)[0]
    page.write_text(f"{head}{MARKER}\n\n{report_section(report.read_text())}")
    figures.mkdir(exist_ok=True)
    for old in figures.glob("*.png"):
        old.unlink()
    for png in sorted((study_dir / "figures").glob("*.png")):
        shutil.copy2(png, figures / png.name)
    shutil.copy2(study_dir / "study.csv", figures / "study.csv")  # the table behind the page's numbers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study_dir", type=Path, help="the --out folder of `gwrep study`")
    rebuild(parser.parse_args().study_dir.resolve())


if __name__ == "__main__":
    main()
