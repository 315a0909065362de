"""gwrep.study.report: study.md, analysis.json and every figure from a small synthetic study table."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gwrep.study.analysis import CANNOT_TELL, CLAIMS, synthetic_table
from gwrep.study.report import json_safe, write_report

MODELS = ("beta-vae", "factor-vae", "gwae-fnp")
SECTIONS = ("## a.", "## b.", "## c.", "## d.", "## e.", "## f.", "## g.", "## h.", "## Verdicts",
            "## Summary per data set and model", "## Runs and timing")
PNG = b"\x89PNG\r\n\x1a\n"


def _report(tmp_path: Path, rows: list[dict], **kw) -> tuple[str, dict, Path]:
    path = write_report(rows, tmp_path / "study", title="A small study", machine_note="the test machine",
                        scale_note="3 models x 2 data sets", n_boot=20, **kw)
    return path.read_text(), json.loads((path.parent / "analysis.json").read_text()), path.parent


def test_report_writes_every_section_figure_and_number(tmp_path):
    rows = synthetic_table(("shapes2d", "shapes3d"), MODELS, values=3, seeds=3, seed=1, failed=0.05)
    text, data, out = _report(tmp_path, rows)
    for heading in SECTIONS:
        assert heading in text, heading
    figures = re.findall(r"!\[[^]]*\]\(([^)]+)\)", text)
    expected = {"a_total_correlation.png", "b_rank_correlation_shapes2d.png", "b_rank_correlation_shapes3d.png",
                "c_violins_mig.png", "c_violins_values_shapes2d.png", "d_variance_shares.png", "e_unsupervised.png",
                "f_transfer.png", "g_downstream.png", "h_tradeoff.png"}
    assert expected <= {Path(f).name for f in figures}
    for f in figures:
        assert (out / f).read_bytes()[:8] == PNG, f
    assert sorted(p.name for p in (out / "figures").iterdir()) == sorted(Path(f).name for f in figures)
    # every claim decided, the same in study.md and analysis.json, with the rule and the numbers behind it
    assert [v["key"] for v in data["verdicts"]] == list(CLAIMS)
    for v in data["verdicts"]:
        assert f"**Claim {v['key']}**" in text
        assert f"Verdict: **{v['verdict']}**" in text
        assert v["verdict"] in ("held", "did not hold", CANNOT_TELL)
    assert data["machine_note"] == "the test machine" and data["runs"] == len(rows)
    failed = sum(r["status"] == "failed" for r in rows)
    assert f"({failed} failed)" in text and data["sections"]["d"]["excluded"]["mig"] == failed
    assert "Machine: the test machine" in text
    assert text.count("| shapes2d-beta-vae-beta=1-s0 ") == 1  # every run listed with its training time


def test_report_on_one_seed_and_missing_scores_says_cannot_tell_and_which_figure_is_missing(tmp_path):
    keep = ("dataset", "model", "hparam", "hparam_value", "hparam_rank", "seed", "run", "status", "steps",
            "train_minutes", "score_seconds", "mig", "sap", "factor_vae_score", "reconstruction_error")
    rows = [{k: v for k, v in r.items() if k in keep}
            for r in synthetic_table(("shapes2d", "shapes3d"), MODELS[:2], values=2, seeds=1)]
    text, data, out = _report(tmp_path, rows)
    assert {v["verdict"] for v in data["verdicts"]} == {CANNOT_TELL}
    assert text.count(f"**{CANNOT_TELL}** (1 seeds per cell") == len(CLAIMS)
    assert "(No figure: the table has no Gaussian total correlation.)" in text
    assert "(No figure: the table has no downstream score or no metric.)" in text
    for name in ("h_tradeoff.png", "c_violins_values_shapes2d.png", "d_variance_shares.png", "f_transfer.png",
                 "e_unsupervised.png"):  # e: the reconstruction error is the one unsupervised score left
        assert (out / "figures" / name).read_bytes()[:8] == PNG  # one seed: dots and bars, no violins


def test_json_safe_turns_nan_into_null():
    import numpy as np

    assert json_safe({"a": [np.float64("nan"), np.int64(2), np.bool_(True)], 3: (1.5, float("inf"))}) == \
           {"a": [None, 2, True], "3": [1.5, None]}
    with pytest.raises(ValueError):
        json.dumps(float("nan"), allow_nan=False)
