"""Tests for gwrep/ot/benchmark.py (the GW engine benchmark) on tiny sizes."""
import json

import pytest

from gwrep.ot.benchmark import _note, format_table, main, make_problem


def test_problem_costs_have_unit_maximum():
    X, Y = make_problem(50, (10, 3), seed=0)
    for Z in (X, Y):
        d2 = ((Z[:, None, :] - Z[None, :, :]) ** 2).sum(-1)
        assert abs(d2.max() - 1.0) < 1e-12


def test_quick_run_writes_json_and_agrees_with_pot(tmp_path, capsys):
    out = tmp_path / "gw.json"
    assert main(["--sizes", "24", "40", "--eps", "0.05", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert [row["n"] for row in report["rows"]] == [24, 40]
    for row in report["rows"]:
        assert row["fast_rel_diff"] < 1e-6 and row["dense_rel_diff"] < 1e-6
        assert row["note"].startswith("same optimum") and len(row["fast_seconds_runs"]) == 3
    printed = capsys.readouterr().out
    assert "fast x" in printed and str(out) in printed
    assert format_table(report["rows"]).count("\n") == 3


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
