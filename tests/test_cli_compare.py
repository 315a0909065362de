"""Tests of gwrep/commands/compare.py (``gwrep compare``): grouping by model, mean ± std, files."""
from __future__ import annotations

import json
import math

import pytest

import gwrep.registry as registry
from gwrep.cli import main
from gwrep.commands._runs import mean_std
from run_folders import make_run
from tiny_models import ENTRY, NAME


@pytest.fixture(autouse=True)
def tiny_models(monkeypatch):
    monkeypatch.setitem(registry.MODELS, NAME, ENTRY)
    monkeypatch.setitem(registry.MODELS, "tiny-b", ENTRY)


def _write(run_dir, name, summary):
    (run_dir / name).write_text(json.dumps({"summary": summary}))


def test_compare_groups_seeds_and_writes_files(tmp_path, capsys):
    a0 = make_run(tmp_path, "mnist", seed=0, image_shape=(1, 28, 28))
    a1 = make_run(tmp_path, "mnist", seed=1, image_shape=(1, 28, 28))
    b0 = make_run(tmp_path, "mnist", seed=0, image_shape=(1, 28, 28), name="b0", model="tiny-b")
    empty = make_run(tmp_path, "mnist", seed=5, image_shape=(1, 28, 28), name="empty")
    _write(a0, "eval.json", {"psnr": 20.0, "fid": 10.0})
    _write(a1, "eval.json", {"psnr": 22.0, "fid": 14.0})
    _write(a0, "ood.json", {"ood_auroc": 0.9})
    _write(b0, "eval.json", {"psnr": 18.0})
    out = tmp_path / "cmp"
    assert main(["compare", str(a0), str(a1), str(b0), str(empty), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "no eval.json or ood.json" in printed and "empty" in printed
    doc = json.loads((out / "comparison.json").read_text())
    assert list(doc) == [NAME, "tiny-b"]
    psnr = doc[NAME]["metrics"]["psnr"]
    assert psnr["mean"] == 21.0 and psnr["std"] == pytest.approx(math.sqrt(2.0)) and psnr["n"] == 2
    assert doc[NAME]["seeds"] == [0, 1]
    assert doc[NAME]["metrics"]["ood_auroc"]["n"] == 1 and doc[NAME]["metrics"]["ood_auroc"]["std"] is None
    assert doc["tiny-b"]["metrics"]["fid"]["n"] == 0
    table = (out / "comparison.md").read_text()
    assert "21.000 ± 1.414 (n=2)" in table and "fid \u2193" in table
    assert (out / "comparison.png").stat().st_size > 10_000


def test_compare_labels_by_data_when_runs_differ(tmp_path):
    a = make_run(tmp_path, "mnist", image_shape=(1, 28, 28))
    b = make_run(tmp_path, "shapes2d", image_shape=(1, 64, 64))
    _write(a, "eval.json", {"psnr": 20.0})
    _write(b, "eval.json", {"psnr": 25.0, "mig": 0.2})
    out = tmp_path / "cmp"
    assert main(["compare", str(a), str(b), "--out", str(out), "--metrics", "psnr"]) == 0
    doc = json.loads((out / "comparison.json").read_text())
    assert list(doc) == [f"{NAME} image_shape=[1, 28, 28] data=mnist", f"{NAME} image_shape=[1, 64, 64] data=shapes2d"]
    assert doc[f"{NAME} image_shape=[1, 28, 28] data=mnist"]["config"]["data"] == "mnist"
    assert list(doc[f"{NAME} image_shape=[1, 28, 28] data=mnist"]["metrics"]) == ["psnr"]


def _with_config(run_dir, **changes):
    """Edit the run's config.json (keys of TrainConfig; model_options merged)."""
    path = run_dir / "config.json"
    cfg = json.loads(path.read_text())
    cfg["model_options"].update(changes.pop("model_options", {}))
    cfg.update(changes)
    path.write_text(json.dumps(cfg))


def test_compare_splits_groups_by_differing_config_keys_and_warns_on_duplicate_seeds(tmp_path, capsys):
    runs = {}
    for name, seed, latent, steps in [("z3-s0", 0, 3, 1), ("z3-s1", 1, 3, 1), ("z5-s0", 0, 5, 1),
                                      ("z5-long-s0", 0, 5, 9), ("z5-long-dup", 0, 5, 9)]:
        runs[name] = make_run(tmp_path / "sweep", "mnist", image_shape=(1, 28, 28), seed=seed, name=name)
        _with_config(runs[name], model_options={"latent_dim": latent}, steps=steps)
        _write(runs[name], "eval.json", {"psnr": float(latent + steps)})
    (tmp_path / "sweep" / "sweep.json").write_text("{}")
    out = tmp_path / "cmp"
    # the shell glob of a sweep folder includes sweep.json: it is left out with a note
    assert main(["compare", *map(str, sorted((tmp_path / "sweep").iterdir())), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "sweep.json is a file, not a run folder" in printed
    assert "warning" in printed and "seed(s) [0]" in printed
    doc = json.loads((out / "comparison.json").read_text())
    assert sorted(doc) == [f"{NAME} latent_dim=3 steps=1", f"{NAME} latent_dim=5 steps=1", f"{NAME} latent_dim=5 steps=9"]
    assert doc[f"{NAME} latent_dim=3 steps=1"]["seeds"] == [0, 1]
    assert doc[f"{NAME} latent_dim=5 steps=9"]["duplicate_seeds"] == [0]
    assert doc[f"{NAME} latent_dim=5 steps=1"]["metrics"]["psnr"]["mean"] == 6.0
    table = (out / "comparison.md").read_text()
    header = [c.strip() for c in next(line for line in table.splitlines() if line.startswith("| model")).split("|")]
    assert header[1:5] == ["model", "model_options.latent_dim", "steps", "seeds"]
    assert "Warning" in table and "(duplicates!)" in table
    # the folder itself gives the same groups
    assert main(["compare", str(tmp_path / "sweep"), "--out", str(tmp_path / "cmp2")]) == 0
    assert json.loads((tmp_path / "cmp2" / "comparison.json").read_text()).keys() == doc.keys()


def test_compare_errors(tmp_path, capsys):
    a = make_run(tmp_path, "mnist", image_shape=(1, 28, 28))
    assert main(["compare", str(a), "--out", str(tmp_path / "o")]) == 2
    assert "run gwrep eval" in capsys.readouterr().err
    _write(a, "eval.json", {"psnr": 20.0})
    assert main(["compare", str(a), "--out", str(tmp_path / "o"), "--metrics", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
    (a / "ood.json").write_text("{not json")
    assert main(["compare", str(a), "--out", str(tmp_path / "o")]) == 2
    assert "ood.json is not valid JSON" in capsys.readouterr().err
    assert main(["compare", str(tmp_path / "missing")]) == 2
    (tmp_path / "no-runs").mkdir()
    assert main(["compare", str(tmp_path / "no-runs")]) == 2
    assert "holds none" in capsys.readouterr().err
    (a / "ood.json").unlink()
    (tmp_path / "file").write_text("")
    assert main(["compare", str(a), "--out", str(tmp_path / "file")]) == 2  # --out is a file: one line, no traceback
    err = capsys.readouterr().err
    assert f"--out {tmp_path / 'file'} is a file" in err and "Traceback" not in err


def test_mean_std_text():
    assert mean_std([1.0, 3.0]) == "2.000 ± 1.414 (n=2)"
    assert mean_std([0.5]) == "0.500"
    assert mean_std([0.5, None]) == "0.500 (n=1)"
    assert mean_std([None, float("nan")]) == "NaN"  # shown, not dropped as missing (issue 25)
    assert mean_std([None, None]) == "-"


def test_compare_json_records_absolute_run_folders(tmp_path, monkeypatch):
    a = make_run(tmp_path, "mnist", image_shape=(1, 28, 28))
    _write(a, "eval.json", {"psnr": 20.0})
    monkeypatch.chdir(tmp_path)
    assert main(["compare", a.name, "--out", "cmp"]) == 0
    doc = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert doc[NAME]["runs"] == [str(a.resolve())]
