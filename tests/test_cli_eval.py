"""Tests of gwrep/commands/eval.py (``gwrep eval``) on small run folders made here.

Run folders come from ``tests/run_folders.py`` (config.json + an untrained tiny model). The command's data loader is replaced by small in-memory test splits
(a 64x64 procedural dSprites subset with factors, and plain images without), so the
tests exercise the command, not the data loaders.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import gwrep.data
import gwrep.registry as registry
from gwrep.cli import main
from gwrep.commands.eval import parse_options, summarize
from gwrep.data.shapes2d import Shapes2D
from gwrep.data.views import ArrayImageDataset, FactorDataset
from run_folders import make_run
from tiny_models import ENTRY, NAME

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")


@pytest.fixture(autouse=True)
def tiny_model(monkeypatch):
    monkeypatch.setitem(registry.MODELS, NAME, ENTRY)


@pytest.fixture
def fake_data(monkeypatch):
    """``gwrep.data.load`` replaced: "sprites" = 60 dSprites images with factors, "plain" = 40 random images."""

    def load(name, root=None, split="train", **options):
        if name == "sprites":
            rows = np.random.default_rng(0).choice(Shapes2D().num_rows, 60, replace=False)
            return FactorDataset(Shapes2D(), rows=rows)
        if name == "plain":
            images = np.random.default_rng(1).integers(0, 256, (40, 1, 28, 28), dtype=np.uint8)
            return ArrayImageDataset(images, np.zeros(40))
        raise ValueError(f"unknown data set {name!r}")

    monkeypatch.setattr(gwrep.data, "load", load, raising=False)


class _Means(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.mean(dim=(2, 3)), x.std(dim=(2, 3))], 1)


@pytest.fixture
def toy_extractor(tmp_path):
    path = tmp_path / "means.pt"
    torch.jit.script(_Means()).save(str(path))
    return path


def test_eval_on_factor_data(tmp_path, fake_data, toy_extractor):
    run_dir = make_run(tmp_path, "sprites")
    rc = main(["eval", str(run_dir), "--metrics", "mig", "dci", "psnr", "fid", "recon_fid", "--fid-num", "30",
               "--fid-extractor", str(toy_extractor),
               "--option", "mig.num_train=300", "--option", "dci.num_train=200", "--option", "dci.num_test=100",
               "--option", "dci.importance=random_forest", "--option", "dci.forest_trees=10"])
    assert rc == 0
    doc = json.loads((run_dir / "eval.json").read_text())
    assert set(doc["metrics"]) == {"mig", "dci", "psnr", "fid", "recon_fid"}
    assert doc["metrics"]["dci"]["settings.num_train"] == 200
    assert doc["settings"]["metric_options"]["dci"]["importance"] == "random_forest"
    matrix = np.array(doc["metrics"]["dci"]["importance_matrix"])
    assert matrix.shape == (3, 5)  # latent_dim x factors
    assert (run_dir / "figures" / "dci_importance.png").stat().st_size > 10_000
    assert doc["metrics"]["psnr"]["num_images"] == 60
    assert doc["metrics"]["fid"]["num_real"] == 30 and doc["metrics"]["recon_fid"]["mode"] == "reconstructions"
    for key in ("mig", "dci_disentanglement", "dci_completeness", "psnr", "fid", "recon_fid"):
        assert np.isfinite(doc["summary"][key])
    assert 0 <= doc["summary"]["mig"] <= 1
    # The command's DCI is the metric module's, with the options passed through.
    from gwrep.eval.metrics import compute_dci, model_representation
    from gwrep.train import load_run_model

    test = gwrep.data.load("sprites", split="test")
    reference = compute_dci(model_representation(load_run_model(run_dir)), test.factor_data, seed=0, num_train=200,
                            num_test=100, importance="random_forest", forest_trees=10)
    assert {k: v for k, v in doc["metrics"]["dci"].items() if k != "importance_matrix"} == reference

    # mig's 300 points and dci's 200 + 100 come from the same seed: their first 12 batches of 16 are the same
    # tuples, encoded once
    cache = doc["settings"]["code_cache"]
    assert cache["hits"] + cache["misses"] == 600 and cache["hits"] >= 192

    # A second call adds metrics to the same eval.json.
    assert main(["eval", str(run_dir), "--metrics", "sap", "--option", "sap.num_train=200",
                 "--option", "sap.num_test=100"]) == 0
    doc2 = json.loads((run_dir / "eval.json").read_text())
    assert set(doc2["metrics"]) == {"mig", "dci", "psnr", "fid", "recon_fid", "sap"}
    assert doc2["metrics"]["mig"] == doc["metrics"]["mig"]
    # SAP's default discrete mode scores even identity codes low: eval.json says which mode it ran in
    assert doc2["settings"]["sap_mode"] == "discrete" and "discrete mode" in doc2["notes"]["sap"]


def test_code_cache_gives_the_scores_of_encoding_every_draw(tmp_path, fake_data):
    run_dir = make_run(tmp_path, "sprites")
    argv = ["eval", str(run_dir), "--metrics", "mig", "factor_vae_score", "--option", "mig.num_train=200",
            "--option", "factor_vae_score.num_train=30", "--option", "factor_vae_score.num_eval=20",
            "--option", "factor_vae_score.num_variance_estimate=100"]
    docs = []
    for extra in ([], ["--no-code-cache"]):
        assert main(argv + extra) == 0
        docs.append(json.loads((run_dir / "eval.json").read_text()))
    cached, plain = docs
    assert cached["summary"] == pytest.approx(plain["summary"], abs=1e-9)
    assert plain["settings"]["code_cache"] is False
    hits, misses = cached["settings"]["code_cache"]["hits"], cached["settings"]["code_cache"]["misses"]
    assert hits + misses == 200 + 100 + (30 + 20) * 64 and hits > 0  # the whole dSprites grid: few repeats


def test_eval_on_plain_images_skips_factor_metrics_and_missing_fid(tmp_path, fake_data, monkeypatch, capsys):
    import gwrep.eval.fid as fid

    def absent():
        raise FileNotFoundError(f"not installed: {fid.FID_EXTRA_HINT}")

    monkeypatch.setattr(fid, "locate_inception", absent)
    run_dir = make_run(tmp_path, "plain", image_shape=(1, 28, 28))
    assert main(["eval", str(run_dir)]) == 0
    doc = json.loads((run_dir / "eval.json").read_text())
    assert set(doc["metrics"]) == {"psnr"}
    assert "factors" in doc["skipped"]["mig"]
    assert "gwrep[fid]" in doc["skipped"]["fid"] and "gwrep[fid]" in doc["skipped"]["recon_fid"]
    assert "skipped fid" in capsys.readouterr().out
    # Asked for by name, a missing extractor is an error, not a skip.
    assert main(["eval", str(run_dir), "--metrics", "fid"]) == 2
    assert "gwrep[fid]" in capsys.readouterr().err


def test_eval_json_records_the_absolute_run_folder(tmp_path, fake_data, monkeypatch):
    # given as a path relative to the working folder, the run is stored resolved: eval.json stays true elsewhere
    run_dir = make_run(tmp_path, "plain", image_shape=(1, 28, 28))
    monkeypatch.chdir(tmp_path)
    assert main(["eval", run_dir.name, "--metrics", "psnr"]) == 0
    assert json.loads((run_dir / "eval.json").read_text())["run"] == str(run_dir.resolve())


def test_eval_takes_several_runs_and_folders(tmp_path, fake_data, capsys):
    sweep = tmp_path / "sweep"
    runs = [make_run(sweep, "plain", image_shape=(1, 28, 28), seed=s) for s in (0, 1)]
    (sweep / "sweep.json").write_text("{}")
    other = make_run(tmp_path, "plain", image_shape=(1, 28, 28), seed=2)
    assert main(["eval", str(sweep), str(other), "--metrics", "psnr"]) == 0
    out = capsys.readouterr().out
    assert "[3/3]" in out
    values = [json.loads((r / "eval.json").read_text())["summary"]["psnr"] for r in [*runs, other]]
    assert len(set(values)) == 3  # each run's own (differently seeded) model was evaluated
    assert main(["eval", str(tmp_path / "nothing-here")]) == 2


def test_real_fid_features_are_extracted_once_per_process_and_give_the_same_fids(tmp_path, fake_data,
                                                                                  toy_extractor, monkeypatch):
    import gwrep.commands.eval as eval_command
    import gwrep.eval.fid as fid

    calls = []
    original = fid.extract_features

    def counting(images, extractor, limit=None):
        calls.append(1)
        return original(images, extractor, limit)

    monkeypatch.setattr(fid, "extract_features", counting)
    monkeypatch.setattr(eval_command, "_REAL_FEATURES", {})
    sweep = tmp_path / "sweep"
    runs = [make_run(sweep, "plain", image_shape=(1, 28, 28), seed=s) for s in (0, 1)]
    argv = ["--metrics", "fid", "recon_fid", "--fid-num", "30", "--fid-extractor", str(toy_extractor)]
    assert main(["eval", *map(str, runs), *argv]) == 0
    # one real pass for both runs, then one pass per run and mode
    assert len(calls) == 1 + 2 * 2
    together = [json.loads((r / "eval.json").read_text())["summary"] for r in runs]
    eval_command._REAL_FEATURES.clear()
    calls.clear()
    assert main(["eval", str(runs[1]), *argv]) == 0  # alone: its own real pass, the same FIDs
    assert len(calls) == 1 + 2
    alone = json.loads((runs[1] / "eval.json").read_text())["summary"]
    assert (alone["fid"], alone["recon_fid"]) == (together[1]["fid"], together[1]["recon_fid"])
    # another FID count is another real set
    assert main(["eval", str(runs[1]), "--metrics", "fid", "--fid-num", "20",
                 "--fid-extractor", str(toy_extractor)]) == 0
    assert len(calls) == 3 + 2 and json.loads((runs[1] / "eval.json").read_text())["metrics"]["fid"]["num_real"] == 20


def test_eval_of_a_perfect_reconstruction_writes_eval_json(tmp_path, fake_data, monkeypatch, capsys):
    # an exact reconstruction has an infinite PSNR, which JSON refuses: eval.json gets the 100 dB cap and a note
    import tiny_models

    monkeypatch.setattr(tiny_models.TinyVAE, "reconstruct", lambda self, x: x.clone())
    run_dir = make_run(tmp_path, "plain", image_shape=(1, 28, 28))
    assert main(["eval", str(run_dir), "--metrics", "psnr"]) == 0
    doc = json.loads((run_dir / "eval.json").read_text())
    assert doc["summary"]["psnr"] == 100.0 and doc["metrics"]["psnr"]["num_capped"] == 40
    assert "40 of 40 images reconstructed exactly" in doc["notes"]["psnr"]
    assert "capped at 100 dB" in capsys.readouterr().out


def test_eval_bad_input(tmp_path, fake_data, capsys):
    plain = make_run(tmp_path, "plain", image_shape=(1, 28, 28))
    assert main(["eval", str(plain), "--metrics", "mig"]) == 2
    assert "factor" in capsys.readouterr().err
    mismatch = make_run(tmp_path, "sprites", image_shape=(1, 28, 28))
    assert main(["eval", str(mismatch), "--metrics", "psnr"]) == 2
    err = capsys.readouterr().err
    assert "(1, 64, 64)" in err and "(1, 28, 28)" in err
    sprites = make_run(tmp_path, "sprites", seed=1)
    assert main(["eval", str(sprites), "--metrics", "mig", "--option", "mig.bogus=1"]) == 2
    assert "bogus" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "nowhere")]) == 2
    with pytest.raises(ValueError, match="METRIC.NAME=VALUE"):
        parse_options(["dci=3"])
    with pytest.raises(ValueError, match="unknown metric"):
        parse_options(["psnr.num=3"])


def test_summarize_picks_headline_numbers():
    metrics = {"dci": {"disentanglement": 0.5, "completeness": 0.25, "informativeness_test": 0.9,
                       "settings.seed": 0}, "psnr": {"psnr": 20.0}}
    assert summarize(metrics) == {"dci_disentanglement": 0.5, "dci_completeness": 0.25,
                                  "dci_informativeness": 0.9, "psnr": 20.0}


@pytest.mark.slow
def test_eval_real_shapes2d_fast(tmp_path):
    """The real loader (procedural dSprites test split) and every factor metric at small sizes."""
    run_dir = make_run(tmp_path, "shapes2d")
    small = ["mig.num_train=300", "sap.num_train=300", "sap.num_test=100", "dci.num_train=300", "dci.num_test=100",
             "modularity_explicitness.num_train=300", "modularity_explicitness.num_test=100",
             "beta_vae_score.num_train=50", "beta_vae_score.num_eval=20", "factor_vae_score.num_train=50",
             "factor_vae_score.num_eval=20", "factor_vae_score.num_variance_estimate=300"]
    argv = ["eval", str(run_dir), "--fast", "--psnr-num", "100",
            "--metrics", "mig", "sap", "dci", "modularity_explicitness", "beta_vae_score", "factor_vae_score", "psnr"]
    for item in small:
        argv += ["--option", item]
    assert main(argv) == 0
    doc = json.loads((run_dir / "eval.json").read_text())
    assert set(doc["summary"]) == {"mig", "sap", "dci_disentanglement", "dci_completeness", "dci_informativeness",
                                   "modularity", "explicitness", "beta_vae_score", "factor_vae_score", "psnr"}
    assert doc["metrics"]["dci"]["settings.importance"] == "random_forest"  # from dci.FAST
