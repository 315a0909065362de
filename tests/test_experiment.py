"""Tests of gwrep/experiments (experiment files, plans) and gwrep/commands/experiment.py (``gwrep experiment``)."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from gwrep.cli import main
from gwrep.experiments import EXPERIMENTS_DIR, experiment_names, load_experiment, merge

SHIPPED = ["disentanglement-3dshapes", "generation-celeba", "ood-mnist-omniglot"]
DATA = Path(os.environ.get("GWREP_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def test_the_three_paper_experiments_ship_as_package_data():
    assert experiment_names() == SHIPPED
    assert all((EXPERIMENTS_DIR / f"{n}.yaml").is_file() for n in SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_scales_follow_the_issue(name):
    e = load_experiment(name)
    assert set(e.scales) == {"smoke", "small", "paper"}
    small = e.points("small")
    assert len(e.seeds("small")) >= (2 if name == "generation-celeba" else 3)
    assert all(p.options.get("max_minutes") for p in small)  # every small run states its budget
    for p in e.points("paper"):  # the authors' sizes: batch 64, 64x64 (OoD: both protocols)
        assert p.options["batch_size"] == 64 and "max_minutes" not in p.options
        size = p.options.get("data_options", {}).get("image_size")
        assert size == 64 or p.options["data_options"].get("protocol") in ("gwae", "clean")


def test_paper_models_and_metrics():
    d = load_experiment("disentanglement-3dshapes")
    assert list(d.models) == ["gwae-fnp", "vae", "beta-vae", "annealed-vae", "factor-vae", "beta-tcvae", "dip-vae-i",
                              "dip-vae-ii"]
    assert set(d.evaluation["metrics"]) == {"dci", "mig", "sap", "factor_vae_score"}
    o = load_experiment("ood-mnist-omniglot")
    assert list(o.models) == ["vae", "dagmm", "gwae-gmp", "gwae-np"] and set(o.variants) == {"gwae", "clean"}
    g = load_experiment("generation-celeba")
    assert list(g.models) == ["gwae-np", "vae", "beta-vae", "wae-mmd", "wae-gan"]
    np_run = g.run_options("gwae-np", None, "paper")
    assert np_run["model_options"]["latent_dim"] == 64 and np_run["data"] == "celeba"  # the authors' gwae.yaml


def test_options_merge_in_order_and_runs_are_named(tmp_path):
    e = load_experiment("ood-mnist-omniglot")
    options = e.run_options("dagmm", "clean", "smoke", {"steps": 3})
    assert options["model"] == "dagmm" and options["data_options"] == {"protocol": "clean"}
    assert options["model_options"] == {"architecture": "gwae", "latent_dim": 16, "fit_images": 256}
    assert options["steps"] == 3  # --set wins over the scale
    points = e.points("smoke", seeds=[4, 5])
    assert [p.name for p in points][:3] == ["vae-clean-s4", "vae-clean-s5", "dagmm-clean-s4"]
    assert points[0].overrides == {"label": "vae", "variant": "clean", "model": "vae", "seed": 4}
    assert merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}}, {"d": 4}) == {"a": {"b": 1, "c": 3}, "d": 4}


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_users_own_experiment_file_and_its_errors(tmp_path):
    good = _write(tmp_path / "mine.yaml", """
name: mine
task: disentanglement
base: {data: shapes2d, data_options: {image_size: 28}, model_options: {architecture: mlp, latent_dim: 3}}
models: {vae: {}, big-beta: {model: beta-vae, model_options: {beta: 8}}}
scales: {smoke: {seeds: [0, 1], train: {steps: 2}}}
""")
    e = load_experiment(good)
    assert [p.name for p in e.points("smoke")] == ["vae-s0", "vae-s1", "big-beta-s0", "big-beta-s1"]
    assert e.run_options("big-beta", None, "smoke")["model"] == "beta-vae"
    with pytest.raises(ValueError, match="has no scale 'paper'"):
        e.points("paper")
    bad = {
        "task: nope": "task must be one of",
        "modls: {}": "unknown keys",
        "scales: {smoke: {seeds: []}}": "seeds",
        "scales: {huge: {seeds: [0]}}": "is not one of",
        "scales: {smoke: {seeds: [0], models: {ghost: {}}}}": "unknown model 'ghost'",
        "scales: {smoke: {seeds: [0], train: {steps: -1}}}": "steps",
        "models: {vea: {}}": "unknown model 'vea'",
    }
    base = "name: x\ntask: ood\nbase: {data: shapes2d}\nmodels: {vae: {}}\nscales: {smoke: {seeds: [0]}}\n"
    for line, match in bad.items():
        key = line.split(":")[0]
        text = "\n".join(row for row in base.splitlines() if not row.startswith(key)) + "\n" + line + "\n"
        with pytest.raises(ValueError, match=match):
            load_experiment(_write(tmp_path / "bad.yaml", text))
    with pytest.raises(ValueError, match="unknown experiment 'nope'"):
        load_experiment("nope")


def test_experiment_list_and_dry_run(tmp_path, capsys, monkeypatch):
    assert main(["experiment", "list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in SHIPPED) and "smoke 8, small 12, paper 24" in out
    monkeypatch.delenv("GWREP_DATA", raising=False)
    assert main(["experiment", "generation-celeba", "--dry-run"]) == 2
    assert "give --data-root" in capsys.readouterr().err
    assert main(["experiment", "disentanglement-3dshapes", "--scale", "small", "--dry-run", "--seeds", "7",
                 "--out", str(tmp_path / "x")]) == 0
    out = capsys.readouterr().out
    assert "8 runs" in out and "gwae-fnp-s7" in out and "budget 15 min" in out
    assert not (tmp_path / "x").exists()


def _check_results(out: Path, models: list[str], metrics: list[str]) -> dict:
    results = json.loads((out / "results.json").read_text())
    text = (out / "results.md").read_text()
    assert results["metrics"][: len(metrics)] == metrics
    assert {r["label"] for r in results["runs"]} == set(models)
    for run in results["runs"]:
        assert run["status"] in ("completed", "early_stopped", "time_budget"), run
        assert run["step"] > 0 and run["minutes"] > 0 and "cores" in run["machine"]
    assert "Paper's claim" in text and "Reproduce: `gwrep experiment" in text and "train min" in text
    return results


def test_ood_experiment_smoke_end_to_end(tmp_path, capsys):
    if not ((DATA / "mnist").is_dir() and (DATA / "omniglot").is_dir()):
        pytest.skip(f"MNIST and Omniglot not found under {DATA} (set GWREP_DATA)")
    out = tmp_path / "ood"
    argv = ["experiment", "ood-mnist-omniglot", "--scale", "smoke", "--data-root", str(DATA), "--out", str(out),
            "--no-progress"]
    assert main(argv) == 0
    results = _check_results(out, ["vae", "dagmm", "gwae-gmp", "gwae-np"],
                             ["ood_auroc", "ood_aupr_in", "ood_aupr_out", "ood_fpr_at_95_tpr"])
    assert {r["variant"] for r in results["runs"]} == {"clean", "gwae"}
    for run in results["runs"]:
        assert math.isfinite(run["metrics"]["ood_auroc"]) and 0.0 <= run["metrics"]["ood_auroc"] <= 1.0
        ood = json.loads((Path(run["dir"]) / "ood.json").read_text())
        assert ood["protocol"]["name"] == run["variant"] and ood["protocol"]["num_in"] == 400
    for variant in ("clean", "gwae"):
        assert (out / "figures" / f"roc-{variant}.png").stat().st_size > 20_000
        assert (out / "figures" / f"scores-{variant}.png").stat().st_size > 20_000  # the score distributions
        table = results["tables"][variant]
        assert set(table) == {"vae", "dagmm", "gwae-gmp", "gwae-np"}
        assert all(g["metrics"]["ood_auroc"]["n"] == 1 for g in table.values())
    text = (out / "results.md").read_text()
    assert "## Protocol clean" in text and "| AUROC" in text and "figures/roc-clean.png" in text
    assert (out / "comparison" / "comparison.md").is_file()
    # run again: every run is finished and evaluated, so nothing is trained or scored again
    stamps = {r["name"]: (Path(r["dir"]) / "ood.json").stat().st_mtime_ns for r in results["runs"]}
    capsys.readouterr()
    assert main(argv) == 0
    assert "evaluating" not in capsys.readouterr().out
    assert stamps == {r["name"]: (Path(r["dir"]) / "ood.json").stat().st_mtime_ns for r in results["runs"]}
    # ... and the first call's wall time is kept beside the second's, which trained nothing
    invocations = json.loads((out / "results.json").read_text())["invocations"]
    assert [i["runs_trained"] for i in invocations] == [8, 0] and all(i["runs"] == 8 for i in invocations)
    assert invocations[0]["train_phase_minutes"] > invocations[1]["train_phase_minutes"]
    assert "(trained 8 of 8 runs), " in (out / "results.md").read_text()
    # other options into the same folder: refused before anything trains, naming the run and the change
    assert main(argv + ["--set", "steps=13"]) == 2
    assert "vae-clean-s0 was trained with other options" in capsys.readouterr().err


@pytest.mark.slow
def test_disentanglement_experiment_smoke(tmp_path):
    out = tmp_path / "dis"
    assert main(["experiment", "disentanglement-3dshapes", "--scale", "smoke", "--out", str(out), "--no-progress"]) == 0
    results = _check_results(out, ["gwae-fnp", "vae", "beta-vae", "annealed-vae", "factor-vae", "beta-tcvae",
                                   "dip-vae-i", "dip-vae-ii"],
                             ["dci_disentanglement", "dci_completeness", "dci_informativeness", "mig", "sap",
                              "factor_vae_score", "object_hue_top_code_share"])
    for run in results["runs"]:
        assert all(math.isfinite(v) for v in run["metrics"].values()), run["metrics"]
        assert 0 <= run["focus_code"] < 10
    assert (out / "figures" / "traversals-gwae-fnp.png").is_file() and (out / "figures" / "dci-vae.png").is_file()


@pytest.mark.slow
def test_generation_experiment_smoke(tmp_path):
    if not (DATA / "celeba").is_dir():
        pytest.skip(f"CelebA not found under {DATA} (set GWREP_DATA)")
    out = tmp_path / "gen"
    assert main(["experiment", "generation-celeba", "--scale", "smoke", "--data-root", str(DATA), "--out", str(out),
                 "--no-progress"]) == 0
    results = _check_results(out, ["gwae-np", "vae", "beta-vae", "wae-mmd", "wae-gan"], ["psnr", "fid", "recon_fid"])
    text = (out / "results.md").read_text()
    for run in results["runs"]:
        assert math.isfinite(run["metrics"]["psnr"])
        if run["metrics"]["fid"] is None:  # no fid extra: the table says so and why
            assert "FID ↓ not computed" in text and run["skipped"]["fid"]
    assert (out / "figures" / "samples-gwae-np.png").is_file()
    assert (out / "figures" / "reconstructions-wae-gan.png").is_file()


def test_reconstruction_trend_reads_the_training_log(tmp_path):
    from gwrep.commands.experiment import reconstruction_trend

    lines = [{"step": 10 * i, "split": "train", "loss": 5.0, "w": 100.0 - i} for i in range(16)]
    lines.insert(3, {"step": 25, "split": "val", "loss": 1.0, "w": 0.0})  # validation lines do not count
    (tmp_path / "metrics.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    key, change = reconstruction_trend(tmp_path)
    assert key == "w"  # GWAE's L_W, preferred to the total loss
    assert change == pytest.approx((86.5 - 90.5) / 90.5)  # last 4 train lines vs the 4 before
    (tmp_path / "metrics.jsonl").write_text("\n".join(json.dumps(line) for line in lines[:6]) + "\n")
    assert reconstruction_trend(tmp_path) is None  # too few lines to say


def test_wall_time_line_lists_every_invocation(tmp_path, capsys):
    from gwrep.commands.experiment import _wall_line, previous_invocations

    assert previous_invocations(tmp_path) == []
    (tmp_path / "results.json").write_text(json.dumps({"wall_minutes": 70.7, "train_phase_minutes": 65.0}))
    assert previous_invocations(tmp_path) == [{"wall_minutes": 70.7, "train_phase_minutes": 65.0}]  # older format
    line = _wall_line([{"wall_minutes": 70.71, "runs_trained": 12, "runs": 12},
                       {"wall_minutes": 0.24, "runs_trained": 0, "runs": 12}])
    assert line == ("Wall time of each invocation into this folder, oldest first: "
                    "70.7 min (trained 12 of 12 runs), 0.2 min (tables only)")
    (tmp_path / "results.json").write_text("{torn")
    assert previous_invocations(tmp_path) == []
    err = capsys.readouterr().err  # said, not silent: the file and why
    assert "earlier invocations are lost" in err and "results.json is not valid JSON" in err
