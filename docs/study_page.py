"""Rebuild the measured half of ``docs/study.md`` from a study folder.

    python docs/study_page.py DIR          # DIR: the --out folder of `gwrep study ...`

``docs/study.md`` is two parts: the hand-written findings above the line ``MARKER`` (kept as they
are) and, below it, the report ``gwrep study`` wrote into ``DIR/study.md`` (headings one level
down, figure links pointing at ``docs/study/``, whose PNGs are replaced by ``DIR/figures/``); the
study's table ``DIR/study.csv`` is copied to ``docs/study/study.csv``.

    python docs/study_page.py DIR --tables   # print the page's learning-check and per-cell tables

Sphinx does not read this file (it builds ``.md`` and ``.rst`` pages only). ``--tables`` needs pandas
(the ``study`` extra).
"""
from __future__ import annotations

import argparse
import json
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


MODEL_NAMES = {"beta-vae": "beta-VAE", "annealed-vae": "AnnealedVAE", "factor-vae": "FactorVAE",
               "dip-vae-i": "DIP-VAE-I", "dip-vae-ii": "DIP-VAE-II", "beta-tcvae": "beta-TCVAE",
               "gwae-fnp": "**GWAE-FNP**"}


def learning_table(study_dir: Path) -> str:
    """Validation reconstruction error at steps 500 / 1,000 / 1,500, mean over each (data set, model)'s
    runs, from ``RUN/metrics.jsonl`` (GWAE's reconstruction is its ``w`` term)."""
    import pandas as pd

    rows = []
    for run in sorted((study_dir / "runs").iterdir()):
        path = run / "metrics.jsonl"
        if not path.is_file():
            continue
        val = {}
        for line in path.read_text().splitlines():
            d = json.loads(line)
            if d.get("split") == "val":
                val[d["step"]] = d.get("reconstruction", d.get("w"))
        rows.append({"run": run.name, **{s: val.get(s) for s in (500, 1000, 1500)}})
    df = pd.DataFrame(rows).merge(pd.read_csv(study_dir / "study.csv")[["run", "dataset", "model"]], on="run")
    lines = ["| data set | model | runs | recon. at 500 | 1,000 | 1,500 | change 1,000 -> 1,500 |",
             "|---|---|---|---|---|---|---|"]
    for (dataset, model), g in df.dropna().groupby(["dataset", "model"]):
        a, b, c = (g[s].mean() for s in (500, 1000, 1500))
        lines.append(f"| {dataset} | {model} | {len(g)} | {a:.1f} | {b:.1f} | {c:.1f} | {100 * (c - b) / b:+.1f}% |")
    return "\n".join(lines)


def cell_table(study_dir: Path) -> str:
    """Per (data set, model, value) cell: the mean over seeds of the headline scores, +- the seed std."""
    import pandas as pd

    df = pd.read_csv(study_dir / "study.csv")
    df = df[df.status == "completed"]
    order = list(MODEL_NAMES)
    lines = ["| data set | model | value | seeds | train min | DCI-D (mean ± seed std) | FactorVAE | MIG | BetaVAE "
             "| recon. error | GBT acc. (10k) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    cells = sorted(df.groupby(["dataset", "model", "hparam_value"]),
                   key=lambda kv: (kv[0][0], order.index(kv[0][1]), kv[0][2]))
    for (dataset, model, value), g in cells:
        m, s = g.mean(numeric_only=True), g.std(numeric_only=True)
        lines.append(f"| {dataset} | {MODEL_NAMES[model]} | {g.hparam.iloc[0]} {value:g} | {len(g)} | "
                     f"{m.train_minutes:.1f} | {m.dci_disentanglement:.3f} ± {s.dci_disentanglement:.3f} | "
                     f"{m.factor_vae_score:.3f} ± {s.factor_vae_score:.3f} | {m.mig:.3f} ± {s.mig:.3f} | "
                     f"{m.beta_vae_score:.3f} | {m.reconstruction_error:.1f} | {m.downstream_gbt_acc_10000:.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study_dir", type=Path, help="the --out folder of `gwrep study`")
    parser.add_argument("--tables", action="store_true", help="print the learning-check and per-cell tables")
    args = parser.parse_args()
    if args.tables:
        print(learning_table(args.study_dir) + "\n\n" + cell_table(args.study_dir))
    else:
        rebuild(args.study_dir.resolve())


if __name__ == "__main__":
    main()
