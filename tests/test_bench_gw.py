"""Tests for gwrep/bench/gw.py (the GW engine benchmark) on tiny sizes, CPU only.

ott-jax lives in another environment: its test runs when ``GWREP_OTT_PYTHON`` names that
environment's python and is skipped otherwise."""
import json
import os
import sys
from pathlib import Path

import numpy as np
import ot
import pytest
import torch

import gwrep
from gwrep.bench.gw import OTT_PYTHON_ENV, _note, format_table, gw_objective, main, make_problem, resolve_device
from gwrep.cli import main as cli_main

SOURCE_TREE = Path(gwrep.__file__).resolve().parents[1]  # holds the gwrep package: a --baseline of itself


def test_problem_costs_have_unit_maximum():
    X, Y = make_problem(50, (10, 3), seed=0)
    for Z in (X, Y):
        d2 = ((Z[:, None, :] - Z[None, :, :]) ** 2).sum(-1)
        assert abs(d2.max() - 1.0) < 1e-12


def test_gw_objective_equals_pots_loss_of_the_plan():
    """The one objective every plan is scored with equals POT's gwloss (with the plan's own marginals)
    and the quadruple sum written out, for a plan that is not a solver's."""
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((30, 4)), rng.standard_normal((20, 3))
    T = rng.random((30, 20))
    T /= T.sum()
    C1, C2 = ot.dist(X, X), ot.dist(Y, Y)
    constC, hC1, hC2 = ot.gromov.init_matrix(C1, C2, T.sum(1), T.sum(0), "square_loss")
    assert gw_objective(X, Y, T) == pytest.approx(ot.gromov.gwloss(constC, hC1, hC2, T), rel=1e-12)
    quadruple = np.einsum("ikjl,ij,kl->", (C1[:, :, None, None] - C2[None, None]) ** 2, T, T)
    assert gw_objective(X, Y, T) == pytest.approx(quadruple, rel=1e-12)


def test_quick_run_writes_json_and_agrees_with_pot(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(OTT_PYTHON_ENV, raising=False)
    out = tmp_path / "gw.json"
    threads = torch.get_num_threads()
    assert main(["--sizes", "24", "40", "--eps", "0.05", "--out", str(out)]) == 0
    assert torch.get_num_threads() == threads  # --threads 1 does not leak into the caller
    report = json.loads(out.read_text())
    assert [row["n"] for row in report["rows"]] == [24, 40]
    assert report["device"] == "cpu" and report["gpu"] is None and report["pot_max_n"] == 2048
    assert report["ott_python"] is None and "GWREP_OTT_PYTHON unset" in report["ott_skipped"]
    for row in report["rows"]:
        assert row["pot_rel_diff"] < 1e-6 and row["dense_rel_diff"] < 1e-6
        assert row["pot_plan_l1"] < 1e-6 and row["dense_plan_l1"] < 1e-10
        assert row["note"].startswith("same optimum") and "ott: ott-jax skipped" in row["note"]
        assert len(row["fast_seconds_runs"]) == 3 and len(row["fast_cpu_seconds_runs"]) == 3
        assert row["device"] == "cpu" and "load_before" in row and row["fast_ok"]
        # the benchmark's scorer and the solver's own value agree
        assert row["fast_objective"] == pytest.approx(row["fast_value"], rel=1e-8)
    printed = capsys.readouterr().out
    assert "ott-jax skipped" in printed and "POT x" in printed and str(out) in printed
    assert format_table(report["rows"]).count("\n") == 3


def test_pot_and_dense_path_are_skipped_above_their_limits_and_the_table_says_so(tmp_path, monkeypatch):
    monkeypatch.delenv(OTT_PYTHON_ENV, raising=False)
    out = tmp_path / "gw.json"
    assert main(["--sizes", "20", "30", "40", "--eps", "0.05", "--device", "cpu", "--pot-max-n", "30",
                 "--dense-max-n", "20", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [("pot_value" in r, "dense_value" in r) for r in rows] == [(True, True), (True, False), (False, False)]
    assert "dense path not run (n > --dense-max-n)" in rows[1]["note"]
    assert rows[2]["note"].startswith("POT and dense path not run") and len(rows[2]["fast_seconds_runs"]) == 1
    # missing numbers are "-" padded to their column, so every row's iteration count ends under "iters"
    table = format_table(rows).splitlines()
    end = table[0].index("iters") + len("iters")
    for line, r in zip(table[2:], rows):
        assert len(line[:end].split()) == 13 and line[end - 6:end].strip() == str(r["fast_iter"])


def test_pot_only_rows_compare_the_fast_path_with_the_dense_path(tmp_path):
    out = tmp_path / "gw.json"
    assert main(["--sizes", "20", "--eps", "0.05", "--pot-max-n", "0", "--dense-max-n", "20", "--out", str(out)]) == 0
    row = json.loads(out.read_text())["rows"][0]
    assert "pot_value" not in row and row["dense_rel_diff"] < 1e-6
    assert row["note"].startswith("POT not run (n > --pot-max-n); fast vs dense rel diff")


def test_baseline_tree_is_timed_and_scored(tmp_path):
    """--baseline runs another tree's fast path in a subprocess: here this tree, so the plans agree."""
    out = tmp_path / "gw.json"
    assert main(["--sizes", "20", "--eps", "0.05", "--pot-max-n", "0", "--baseline", str(SOURCE_TREE),
                 "--out", str(out)]) == 0
    row = json.loads(out.read_text())["rows"][0]
    assert "baseline_error" not in row, row.get("baseline_error")
    assert row["baseline_plan_l1"] < 1e-12 and row["baseline_iter"] == row["fast_iter"]
    assert len(row["baseline_seconds_runs"]) == 3 and row["baseline_version"].startswith(str(SOURCE_TREE))
    assert row["baseline_rel_diff"] < 1e-12 and row["baseline_speedup"] > 0


def test_an_environment_without_ott_is_skipped_with_the_reason(tmp_path):
    out = tmp_path / "gw.json"
    assert main(["--sizes", "20", "--eps", "0.05", "--pot-max-n", "0", "--ott-python", sys.executable,
                 "--out", str(out)]) == 0
    row = json.loads(out.read_text())["rows"][0]
    assert "cannot import ott and jax" in row["ott_skipped"] and "ott_seconds" not in row


@pytest.mark.skipif(not os.environ.get(OTT_PYTHON_ENV), reason=f"${OTT_PYTHON_ENV} (an ott-jax environment) unset")
def test_ott_jax_reaches_the_same_plan(tmp_path):
    """ott-jax, run for as many outer iterations as the fast path, ends at the same plan (float64)."""
    out = tmp_path / "gw.json"
    assert main(["--sizes", "40", "--eps", "0.05", "--pot-max-n", "0", "--out", str(out)]) == 0
    row = json.loads(out.read_text())["rows"][0]
    assert "ott_error" not in row, row.get("ott_error")
    assert row["ott_iter"] == row["fast_iter"] and row["ott_plan_l1"] < 1e-6 and row["ott_rel_diff"] < 1e-6


def row_with(**changes):
    row = {"fast_objective": 1.0, "pot_objective": 1.1, "pot_rel_diff": 0.1 / 1.1, "pot_converged": True,
           "fast_converged": True, "fast_warnings": {}, "pot_warnings": {}}
    return row | changes


@pytest.mark.parametrize("changes, expected", [
    ({}, "different local optimum (gwrep lower)"),
    ({"fast_objective": 1.1 + 1e-9, "pot_rel_diff": 1e-9}, "same optimum"),
    ({"pot_warnings": {"Sinkhorn did not converge. You might want to increase numItermax": 3}},
     "not comparable: inner solver hit its limit (POT)"),
    ({"fast_warnings": {"entropic GW: 4 inner Sinkhorn solves stopped at their limit (1000 iterations)": 1}},
     "not comparable: inner solver hit its limit (ours)"),
    ({"fast_warnings": {"entropic GW: 4 inner Sinkhorn solves stopped at their limit (1000 iterations)": 1},
      "pot_warnings": {"Sinkhorn did not converge.": 1}},
     "not comparable: inner solver hit its limit (ours and POT)"),
])
def test_note_blames_an_inner_limit_before_calling_it_another_optimum(changes, expected):
    assert _note(row_with(**changes)).startswith(expected)


def test_note_reports_outer_limits():
    note = _note(row_with(pot_converged=False, fast_converged=False))
    assert "POT's outer loop hit max_iter" in note and "gwrep's outer loop hit max_iter" in note


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown when no GPU is present")
def test_cuda_without_a_gpu_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(ValueError, match="--device cuda was asked for, but torch finds no usable CUDA GPU"):
        main(["--sizes", "8", "--device", "cuda", "--out", str(tmp_path / "gw.json")])
    assert not (tmp_path / "gw.json").exists()
    assert cli_main(["bench", "gw", "--sizes", "8", "--device", "cuda", "--out", str(tmp_path / "x.json")]) == 2
    assert "no usable CUDA GPU" in capsys.readouterr().err


def test_bad_options_are_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(SystemExit):
        main(["--device", "tpu"])
    with pytest.raises(ValueError, match="--pot-max-n"):
        main(["--sizes", "8", "--pot-max-n", "-1"])
    with pytest.raises(ValueError, match="holds no gwrep package"):
        main(["--sizes", "8", "--baseline", str(tmp_path)])
