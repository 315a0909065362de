"""Tests of gwrep/commands/ood.py (``gwrep ood``) on small run folders made here.

The data loader is replaced by in-memory sets ("mnist": 50 dark images, "omniglot": 80
bright ones, "tiny": 20) that resolve the protocol through the real
``gwrep.data.PROTOCOLS`` and record what they were asked for, so the tests check the
protocol the command passes (sizes, channels, Omniglot polarity, split, counts) and the
files it writes. One slow test runs the real MNIST and Omniglot loaders.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import gwrep.data
import gwrep.registry as registry
from gwrep.cli import main
from gwrep.data.views import ArrayImageDataset
from gwrep.eval.ood import ood_metrics
from run_folders import make_run
from tiny_models import ENTRY, NAME


@pytest.fixture(autouse=True)
def tiny_model(monkeypatch):
    monkeypatch.setitem(registry.MODELS, NAME, ENTRY)


@pytest.fixture
def calls(monkeypatch):
    """``gwrep.data.load`` replaced; returns the list of (name, split, options) it was called with."""
    seen = []

    def load(name, root=None, split="train", **options):
        seen.append((name, split, options))
        resolved = {**gwrep.data.PROTOCOLS[options["protocol"]].get(name, {}), **options}
        size, channels = resolved.get("image_size", 28), resolved.get("channels", 1)
        n, seed = {"mnist": (50, 1), "omniglot": (80, 2), "tiny": (20, 3)}[name]
        rng = np.random.default_rng(seed)
        images = rng.integers(0, 40, (n, channels, size, size), dtype=np.uint8)
        if name == "omniglot":
            images = images + 200  # bright: far from the in-distribution images
        return ArrayImageDataset(images.astype(np.uint8), np.zeros(n))

    monkeypatch.setattr(gwrep.data, "load", load, raising=False)
    return seen


def test_ood_one_run_writes_protocol_and_files(tmp_path, calls):
    run_dir = make_run(tmp_path, "mnist", image_shape=(1, 28, 28))
    assert main(["ood", str(run_dir), "--ood-data", "omniglot"]) == 0
    # Default protocol from the model's (1, 28, 28) input: clean; omniglot evaluation split, MNIST polarity.
    assert calls == [("mnist", "test", {"protocol": "clean"}), ("omniglot", "evaluation", {"protocol": "clean"})]
    doc = json.loads((run_dir / "ood.json").read_text())
    p = doc["protocol"]
    assert (p["name"], p["image_size"], p["channels"], p["polarity"]) == ("clean", 28, 1, "mnist")
    assert p["num_in"] == 50 and p["num_out"] == 50  # as many OoD images as in-distribution ones
    scores = np.load(run_dir / "ood_scores.npz", allow_pickle=False)
    assert scores["scores_in"].shape == (50,) and scores["scores_out"].shape == (50,)
    assert doc["metrics"] == pytest.approx(ood_metrics(scores["scores_in"], scores["scores_out"]))
    assert doc["summary"]["ood_auroc"] == doc["metrics"]["auroc"]
    assert (run_dir / doc["files"]["figure"]).stat().st_size > 10_000


def test_ood_several_runs_table_and_figure(tmp_path, calls, capsys):
    runs = [make_run(tmp_path, "mnist", image_shape=(3, 64, 64), seed=s) for s in (0, 1)]
    out = tmp_path / "cmp"
    argv = ["ood", *map(str, runs), "--ood-data", "omniglot", "--num", "30", "--num-in", "40", "--out-dir", str(out)]
    assert main(argv) == 0
    assert calls[1] == ("omniglot", "evaluation", {"protocol": "gwae"})
    table = json.loads((out / "ood_table.json").read_text())
    assert list(table) == [f"{NAME} s0", f"{NAME} s1"]
    assert all(row["protocol"]["num_in"] == 40 and row["protocol"]["num_out"] == 30 for row in table.values())
    assert (out / "ood_roc.png").is_file()
    printed = capsys.readouterr().out
    assert "AUROC" in printed and f"{NAME} s1" in printed
    assert (out / "ood_table.md").read_text().count("\n") == 4  # header, rule, two runs


def test_ood_subset_is_seeded(tmp_path, calls):
    run_dir = make_run(tmp_path, "mnist", image_shape=(1, 28, 28))
    main(["ood", str(run_dir), "--num", "10", "--seed", "3", "--in", "mnist"])
    a = np.load(run_dir / "ood_scores.npz")["scores_out"]
    main(["ood", str(run_dir), "--num", "10", "--seed", "3", "--in", "mnist"])
    b = np.load(run_dir / "ood_scores.npz")["scores_out"]
    main(["ood", str(run_dir), "--num", "10", "--seed", "4", "--in", "mnist"])
    c = np.load(run_dir / "ood_scores.npz")["scores_out"]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_ood_protocol_must_match_model(tmp_path, calls, capsys):
    run_dir = make_run(tmp_path, "mnist", image_shape=(1, 28, 28))
    assert main(["ood", str(run_dir), "--protocol", "gwae"]) == 2
    err = capsys.readouterr().err
    assert "(3, 64, 64)" in err and "(1, 28, 28)" in err and "--protocol clean fits" in err
    odd = make_run(tmp_path, "mnist", image_shape=(1, 64, 64), name="odd")
    assert main(["ood", str(odd)]) == 2
    err = capsys.readouterr().err
    assert "no OoD protocol matches" in err and "no protocol fits" in err  # no advice that cannot work
    assert main(["ood", str(odd), "--protocol", "clean", "--ood-data", "tiny"]) == 2  # mnist under clean is 28x28
    assert "(1, 28, 28)" in capsys.readouterr().err
    assert main(["ood", str(run_dir), "--num", "0"]) == 2
    assert "--num" in capsys.readouterr().err
    assert main(["ood", str(run_dir), "--ood-data", "mnist"]) == 2  # scoring the run's test split against itself
    assert "are the same images (mnist test)" in capsys.readouterr().err
    assert calls == []  # every check fails before any data is loaded


def test_ood_polarity_override_and_run_seed(tmp_path, calls):
    run_dir = make_run(tmp_path, "mnist", image_shape=(1, 28, 28))
    cfg = json.loads((run_dir / "config.json").read_text())
    cfg["data_options"] = {"seed": 7}
    (run_dir / "config.json").write_text(json.dumps(cfg))
    assert main(["ood", str(run_dir), "--polarity", "original"]) == 0
    assert calls == [("mnist", "test", {"protocol": "clean", "seed": 7}),
                     ("omniglot", "evaluation", {"protocol": "clean", "polarity": "original"})]
    assert json.loads((run_dir / "ood.json").read_text())["protocol"]["polarity"] == "original"


def test_ood_small_out_set_uses_all(tmp_path, calls, capsys):
    run_dir = make_run(tmp_path, "mnist", image_shape=(1, 28, 28))
    assert main(["ood", str(run_dir), "--ood-data", "tiny", "--ood-split", "test"]) == 0
    assert "only 20 images" in capsys.readouterr().out
    assert json.loads((run_dir / "ood.json").read_text())["protocol"]["num_out"] == 20


def test_ood_out_is_the_output_folder_and_a_folder_of_runs_is_expanded(tmp_path, calls, capsys):
    sweep = tmp_path / "sweep"
    runs = [make_run(sweep, "mnist", image_shape=(1, 28, 28), seed=s) for s in (0, 1)]
    (sweep / "sweep.json").write_text("{}")  # a sweep folder's own file is not a run
    out = tmp_path / "report"
    assert main(["ood", str(sweep), "--ood-data", "omniglot", "--num", "10", "--out", str(out)]) == 0
    table = json.loads((out / "ood_table.json").read_text())
    assert sorted(row["run"] for row in table.values()) == sorted(str(r.resolve()) for r in runs)
    assert (out / "ood_roc.png").is_file() and all((r / "ood.json").is_file() for r in runs)
    assert [c[0] for c in calls] == ["mnist", "omniglot"] * 2


def test_ood_out_naming_a_data_set_is_refused_with_the_new_flag(tmp_path, calls, capsys, monkeypatch):
    run_dir = make_run(tmp_path, "mnist", image_shape=(1, 28, 28))
    monkeypatch.chdir(tmp_path)
    assert main(["ood", str(run_dir), "--out", "omniglot"]) == 2  # the old meaning of --out
    err = capsys.readouterr().err
    assert "--ood-data omniglot" in err and err.count("\n") == 1
    assert calls == [] and not (tmp_path / "omniglot").exists()
    assert main(["ood", str(run_dir), "--out", "./omniglot", "--ood-data", "tiny", "--ood-split", "test"]) == 0
    assert (tmp_path / "omniglot" / "ood_table.json").is_file()


def test_ood_warns_when_the_in_set_is_not_the_training_set(tmp_path, calls, capsys):
    run_dir = make_run(tmp_path, "tiny", image_shape=(1, 28, 28))
    assert main(["ood", str(run_dir), "--in-data", "mnist", "--ood-data", "omniglot"]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(lines) == 1 and "trained on 'tiny'" in lines[0] and "'mnist'" in lines[0]
    doc = json.loads((run_dir / "ood.json").read_text())
    assert doc["trained_on"] == "tiny" and doc["protocol"]["in"]["data"] == "mnist"
    own = make_run(tmp_path, "mnist", image_shape=(1, 28, 28))
    assert main(["ood", str(own), "--in", "mnist"]) == 0  # the old spelling, the run's own set: no warning
    assert "warning" not in capsys.readouterr().err


@pytest.mark.slow
def test_ood_real_mnist_omniglot(tmp_path, data_root):
    """The real loaders: MNIST test split vs Omniglot evaluation alphabets, clean protocol, 500 each."""
    run_dir = make_run(tmp_path, "mnist", image_shape=(1, 28, 28))
    assert main(["ood", str(run_dir), "--data-root", str(data_root), "--num-in", "500"]) == 0
    doc = json.loads((run_dir / "ood.json").read_text())
    assert doc["protocol"]["num_out"] == 500 and doc["protocol"]["out"]["split"] == "evaluation"
    assert 0.0 <= doc["metrics"]["auroc"] <= 1.0
    # The GWAE protocol on a 64x64x3 model, explicit roots.
    run_dir = make_run(tmp_path, "mnist", image_shape=(3, 64, 64), name="gwae")
    assert main(["ood", str(run_dir), "--in-root", str(data_root / "mnist"), "--ood-root",
                 str(data_root / "omniglot"), "--num-in", "200"]) == 0
    doc = json.loads((run_dir / "ood.json").read_text())
    p = doc["protocol"]
    assert (p["name"], p["image_size"], p["channels"], p["polarity"], p["num_out"]) == ("gwae", 64, 3, "original", 200)


def test_ood_json_records_the_absolute_run_folder(tmp_path, calls, monkeypatch):
    # given as a path relative to the working folder, the run is stored resolved: ood.json stays true elsewhere
    run_dir = make_run(tmp_path, "mnist", image_shape=(1, 28, 28))
    monkeypatch.chdir(tmp_path)
    assert main(["ood", run_dir.name, "--num-in", "20"]) == 0
    assert json.loads((run_dir / "ood.json").read_text())["run"] == str(run_dir.resolve())


def test_ood_score_option_changes_the_score_for_this_scoring_only(tmp_path, calls, capsys):
    """--score-option ood_score_kind=neg_elbo scores a VAE by its negative ELBO; ood.json records it."""
    from gwrep.train.run import load_run_model

    run_dir = make_run(tmp_path, "mnist", image_shape=(1, 28, 28), model="vae")
    assert main(["ood", str(run_dir), "--ood-data", "omniglot"]) == 0
    prior_scores = np.load(run_dir / "ood_scores.npz")["scores_in"]
    assert json.loads((run_dir / "ood.json").read_text())["score_options"] == {}
    assert main(["ood", str(run_dir), "--ood-data", "omniglot", "--score-option", "ood_score_kind=neg_elbo",
                 "--score-option", "ood_elbo_samples=2"]) == 0
    doc = json.loads((run_dir / "ood.json").read_text())
    assert doc["score_options"] == {"ood_score_kind": "neg_elbo", "ood_elbo_samples": 2}
    elbo_scores = np.load(run_dir / "ood_scores.npz")["scores_in"]
    assert not np.allclose(elbo_scores, prior_scores)
    assert load_run_model(run_dir).config.ood_score_kind == "neg_log_prior"  # the saved model is unchanged
    capsys.readouterr()
    assert main(["ood", str(run_dir), "--score-option", "ood_kind=x"]) == 2
    err = capsys.readouterr().err
    assert "has no option(s) ['ood_kind']" in err and "ood_score_kind" in err
    assert main(["ood", str(run_dir), "--score-option", "ood_score_kind=bogus"]) == 2
