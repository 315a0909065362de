"""Tests for gwrep/ot/benchmark.py (the GW engine benchmark) on tiny sizes."""
import json

from gwrep.ot.benchmark import format_table, main, make_problem


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
