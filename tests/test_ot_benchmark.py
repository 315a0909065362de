"""Tests for gwrep/ot/benchmark.py (the GW engine benchmark) on tiny sizes, CPU only."""
import json

import pytest
import torch

from gwrep.cli import main as cli_main
from gwrep.ot.benchmark import _note, format_table, main, make_problem, resolve_device


def test_problem_costs_have_unit_maximum():
    X, Y = make_problem(50, (10, 3), seed=0)
    for Z in (X, Y):
        d2 = ((Z[:, None, :] - Z[None, :, :]) ** 2).sum(-1)
        assert abs(d2.max() - 1.0) < 1e-12


def test_quick_run_writes_json_and_agrees_with_pot(tmp_path, capsys):
    out = tmp_path / "gw.json"
    threads = torch.get_num_threads()
    assert main(["--sizes", "24", "40", "--eps", "0.05", "--out", str(out)]) == 0
    assert torch.get_num_threads() == threads  # --threads 1 does not leak into the caller
    report = json.loads(out.read_text())
    assert [row["n"] for row in report["rows"]] == [24, 40]
    assert report["device"] == "cpu" and report["gpu"] is None and report["pot_max_n"] == 2048
    for row in report["rows"]:
        assert row["fast_rel_diff"] < 1e-6 and row["dense_rel_diff"] < 1e-6 and row["fast_dense_rel_diff"] < 1e-6
        assert row["note"].startswith("same optimum") and len(row["fast_seconds_runs"]) == 3
        assert row["device"] == "cpu"
    printed = capsys.readouterr().out
    assert "fast x" in printed and str(out) in printed
    assert format_table(report["rows"]).count("\n") == 3


def test_pot_and_dense_path_are_skipped_above_their_limits_and_the_table_says_so(tmp_path, capsys):
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
        assert len(line[:end].split()) == 9 and line[end - 6:end].strip() == str(r["fast_iter"])


def test_pot_only_rows_compare_the_fast_path_with_the_dense_path(tmp_path):
    out = tmp_path / "gw.json"
    assert main(["--sizes", "20", "--eps", "0.05", "--pot-max-n", "0", "--dense-max-n", "20", "--out", str(out)]) == 0
    row = json.loads(out.read_text())["rows"][0]
    assert "pot_value" not in row and row["fast_dense_rel_diff"] < 1e-6
    assert row["note"].startswith("POT not run (n > --pot-max-n); fast vs dense rel diff")


def row_with(**changes):
    row = {"fast_value": 1.0, "pot_value": 1.1, "fast_rel_diff": 0.1 / 1.1, "pot_converged": True,
           "fast_converged": True, "fast_warnings": {}, "pot_warnings": {}}
    return row | changes


@pytest.mark.parametrize("changes, expected", [
    ({}, "different local optimum (gwrep lower)"),
    ({"fast_value": 1.1 + 1e-9, "fast_rel_diff": 1e-9}, "same optimum"),
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


def test_bad_options_are_errors():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(SystemExit):
        main(["--device", "tpu"])
    with pytest.raises(ValueError, match="--pot-max-n"):
        main(["--sizes", "8", "--pot-max-n", "-1"])
