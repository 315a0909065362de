"""Issue 25, part A: nothing gwrep writes leaves its folder, and names from files are checked.

Run, sweep and experiment folders never write through a symbolic link that leads out of
them (a copied run folder's ``.lock`` or ``checkpoints/``); experiment names and labels with
path segments are refused at load time (``--dry-run`` included); output folders that cannot
be used fail before the work; every ``OSError`` is one line naming the path.
"""
from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

import gwrep.registry as registry
from gwrep.cli import main
from gwrep.experiments import load_experiment
from gwrep.integrity import LinkOutError, atomic_write_bytes, refuse_links_out
from gwrep.train.sweep import expand_grid, run_sweep
from run_folders import make_run
from test_cli_eval import fake_data  # noqa: F401  (the fixture: small in-memory test splits)
from test_train_trainer import config, fit
from tiny_models import ENTRY, NAME, blobs


@pytest.fixture(autouse=True)
def tiny_model(monkeypatch):
    monkeypatch.setitem(registry.MODELS, NAME, ENTRY)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ----------------------------------------------------------------------------------- run folders
@pytest.mark.parametrize("target", ["outside", "dangling", "inside"])
def test_resume_never_writes_through_a_linked_lock(tmp_path, target):
    """A run folder whose .lock is a symbolic link (a copied folder): --resume refuses it; the file the link
    points to (outside, not yet existing, or another file of the run) is neither written nor created."""
    cfg = config(tmp_path, "run", steps=8)
    fit(cfg)
    run_dir = tmp_path / "run"
    victim = {"outside": tmp_path / "victim.txt", "dangling": tmp_path / "nowhere" / "made.txt",
              "inside": run_dir / "config.json"}[target]
    if target == "outside":
        victim.write_text("precious\n")
    before = victim.read_bytes() if victim.exists() else None
    (run_dir / ".lock").unlink()
    (run_dir / ".lock").symlink_to(victim)
    with pytest.raises(LinkOutError, match=r"\.lock is a symbolic link"):
        fit(cfg.replace(steps=12), resume=True)
    assert (victim.read_bytes() if victim.exists() else None) == before
    assert json.loads((run_dir / "run.json").read_text())["step"] == 8  # the run was not touched


def test_a_new_run_refuses_a_linked_lock_too(tmp_path):
    (tmp_path / "fresh").mkdir()
    (tmp_path / "fresh" / ".lock").symlink_to(tmp_path / "victim")
    with pytest.raises(LinkOutError):
        fit(config(tmp_path, "fresh", steps=4))
    assert not (tmp_path / "victim").exists()


@pytest.mark.parametrize("entry", ["checkpoints", "checkpoints/last.pt", "model", "metrics.jsonl", "figures"])
def test_resume_refuses_an_entry_linked_to_another_run(tmp_path, entry):
    """RUN/checkpoints (or another entry) linked to another run's: resuming refuses before writing, so the
    other run's last.pt, model and metrics are untouched."""
    other = fit(config(tmp_path, "other", steps=8, figures=entry == "figures")).dir
    cfg = config(tmp_path, "copy", steps=8)
    fit(cfg)
    link = tmp_path / "copy" / entry
    if link.is_dir():
        import shutil

        shutil.rmtree(link)
    else:
        link.unlink(missing_ok=True)
    link.symlink_to(other / entry)
    before = snapshot(other)
    with pytest.raises(LinkOutError, match=f"{entry} is a symbolic link to {other / entry}, outside the run folder"):
        fit(cfg.replace(steps=16), resume=True)
    assert snapshot(other) == before


def test_a_link_inside_the_run_folder_is_allowed(tmp_path):
    """Only links leading out are refused: figures/ linked to a folder inside the run trains and writes there."""
    cfg = config(tmp_path, "run", steps=6, figures=True)
    run_dir = tmp_path / "run"
    (run_dir / "kept-figures").mkdir(parents=True)
    (run_dir / "figures").symlink_to(run_dir / "kept-figures")
    assert fit(cfg).status == "completed"
    assert any((run_dir / "kept-figures").iterdir())


def test_linked_checkpoints_through_the_command(tmp_path, capsys):
    """gwrep train --resume on a folder whose checkpoints/ is another run's: one line, exit 2, nothing written."""
    argv = ["train", "--model", NAME, "--data", "shapes2d", "--image-size", "28", "--batch-size", "16",
            "--steps", "4", "--eval-every", "0", "--no-figures", "--no-progress"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    assert main([*argv, "--out", str(tmp_path / "b")]) == 0
    import shutil

    shutil.rmtree(tmp_path / "b" / "checkpoints")
    (tmp_path / "b" / "checkpoints").symlink_to(tmp_path / "a" / "checkpoints")
    before = snapshot(tmp_path / "a")
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "b"), "--steps", "8", "--no-progress"]) == 2
    assert "outside the run folder" in one_line_error(capsys)
    assert snapshot(tmp_path / "a") == before


def test_sweep_refuses_a_run_folder_linked_elsewhere(tmp_path):
    """A sweep folder whose run folder is a link to a folder outside it: refused before any run trains."""
    base = {"model": NAME, "data": "unused", "steps": 4, "batch_size": 16, "eval_every": 0, "figures": False}
    points = expand_grid(base, seeds=[0])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "sweep").mkdir()
    (tmp_path / "sweep" / points[0].name).symlink_to(elsewhere)
    with pytest.raises(LinkOutError, match="outside the sweep folder"):
        run_sweep(points, tmp_path / "sweep", dataset=blobs(32), progress=False)
    assert list(elsewhere.iterdir()) == []


def test_eval_and_ood_refuse_a_run_folder_with_a_link_out(tmp_path, capsys):
    """gwrep eval and gwrep ood write eval.json, ood_scores.npz and figures by name in the run folder: a
    figures/ link leading out is refused in one line, before any scoring."""
    run_dir = make_run(tmp_path, "shapes2d", image_shape=(1, 28, 28))
    outside = tmp_path / "outside"
    outside.mkdir()
    (run_dir / "figures").symlink_to(outside)
    for argv in (["eval", str(run_dir), "--metrics", "psnr"], ["ood", str(run_dir), "--ood-data", "shapes3d"]):
        capsys.readouterr()
        assert main(argv) == 2
        assert f"{run_dir / 'figures'} is a symbolic link" in one_line_error(capsys)
    assert list(outside.iterdir()) == []
    assert not (run_dir / "eval.json").exists() and not (run_dir / "ood.json").exists()


def test_atomic_write_never_writes_through_a_planted_temporary(tmp_path):
    """A link planted at FILE.tmp (where the atomic write stages its bytes) is replaced, not written through."""
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    (tmp_path / "run.json.tmp").symlink_to(victim)
    atomic_write_bytes(tmp_path / "run.json", b"{}")
    assert victim.read_bytes() == b"precious" and (tmp_path / "run.json").read_bytes() == b"{}"
    assert not (tmp_path / "run.json").is_symlink() and not (tmp_path / "run.json.tmp").exists()


def test_refuse_links_out_follows_nothing(tmp_path):
    """Links leading out are found at any depth, dangling ones included; the folder itself may be a link."""
    (tmp_path / "real" / "a" / "b").mkdir(parents=True)
    (tmp_path / "link-to-real").symlink_to(tmp_path / "real")
    refuse_links_out(tmp_path / "link-to-real")  # nothing inside leads out
    (tmp_path / "real" / "a" / "b" / "up").symlink_to(tmp_path / "real" / "a")  # inside: allowed
    refuse_links_out(tmp_path / "real")
    (tmp_path / "real" / "a" / "b" / "gone").symlink_to(tmp_path / "does-not-exist")
    with pytest.raises(LinkOutError, match="gone is a symbolic link"):
        refuse_links_out(tmp_path / "link-to-real")


# ---------------------------------------------------------------------------------- experiments
EXPERIMENT = {
    "name": "mine", "task": "disentanglement",
    "base": {"data": "shapes2d", "data_options": {"image_size": 28}, "batch_size": 16, "eval_every": 0,
             "figures": False},
    "models": {NAME: None},
    "evaluation": {"metrics": ["mig"]},
    "scales": {"smoke": {"seeds": [0], "train": {"steps": 2}}},
}


def write_experiment(tmp_path: Path, **changes) -> Path:
    spec = json.loads(json.dumps(EXPERIMENT))
    spec.update(changes)
    path = tmp_path / "exp.yaml"
    import yaml

    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.mark.parametrize("changes, what", [
    ({"name": "../escape"}, "name"),
    ({"name": ".."}, "name"),
    ({"name": "a/b"}, "name"),
    ({"models": {"../../escape": {"model": NAME}}}, "model label"),
    ({"models": {".hidden": {"model": NAME}}}, "model label"),
    ({"variants": {"../v": {}}}, "variant label"),
])
def test_experiment_names_from_the_file_are_checked(tmp_path, capsys, changes, what):
    """An experiment's name and labels name folders under --out: path segments are refused when the file
    loads, so --dry-run objects too and nothing is written outside --out."""
    path = write_experiment(tmp_path, **changes)
    with pytest.raises(ValueError, match=f"{what} must be a name"):
        load_experiment(path)
    out = tmp_path / "deep" / "out"
    capsys.readouterr()
    assert main(["experiment", str(path), "--out", str(out), "--dry-run"]) == 2
    assert what in one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.yaml"]


def test_experiment_refuses_a_link_out_of_its_folder(tmp_path, capsys):
    """An experiment folder whose runs/<run> is a link to a folder outside it: one line, nothing trained."""
    path = write_experiment(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "out" / "runs").mkdir(parents=True)
    (tmp_path / "out" / "runs" / f"{NAME}-s0").symlink_to(elsewhere)
    assert main(["experiment", str(path), "--out", str(tmp_path / "out")]) == 2
    assert "outside the experiment folder" in one_line_error(capsys)
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("evaluation, match", [
    ({"metrics": ["mig", "dcii"]}, r"unknown evaluation metric\(s\) \['dcii'\]"),
    ({"metrics": ["ood_auroc"]}, r"unknown evaluation metric\(s\) \['ood_auroc'\]"),
    ({"metrics": ["mig"], "options": {"dcii.num_train": 5}}, r"evaluation options \['dcii.num_train'\]"),
])
def test_unknown_evaluation_metric_fails_at_load_time(tmp_path, capsys, evaluation, match):
    """An experiment naming an unknown metric fails when it loads (and with --dry-run), not after training."""
    path = write_experiment(tmp_path, evaluation=evaluation)
    with pytest.raises(ValueError, match=match):
        load_experiment(path)
    assert main(["experiment", str(path), "--out", str(tmp_path / "out"), "--dry-run"]) == 2
    one_line_error(capsys)
    assert not (tmp_path / "out").exists()


def test_unknown_metric_in_a_scale_override_and_for_ood(tmp_path):
    smoke = {"seeds": [0], "train": {"steps": 2}, "evaluation": {"metrics": ["auroc"]}}
    with pytest.raises(ValueError, match="scale 'smoke': unknown evaluation metric"):
        load_experiment(write_experiment(tmp_path, scales={"smoke": smoke}))
    ood = write_experiment(tmp_path, task="ood", evaluation={"metrics": ["ood_auroc", "ood_fpr_at_95_tpr"]})
    assert load_experiment(ood).evaluation["metrics"] == ["ood_auroc", "ood_fpr_at_95_tpr"]
    with pytest.raises(ValueError, match="known: \\['ood_auroc'"):
        load_experiment(write_experiment(tmp_path, task="ood", evaluation={"metrics": ["mig"]}))


def test_ood_metric_names_are_what_ood_metrics_returns():
    import numpy as np

    from gwrep.eval.ood import METRIC_NAMES, ood_metrics

    assert tuple(ood_metrics(np.array([0.0, 1.0]), np.array([0.5, 2.0]))) == METRIC_NAMES


# ------------------------------------------------------------------------- options given twice
def test_a_key_given_twice_on_the_command_line_is_refused(tmp_path, capsys):
    path = write_experiment(tmp_path)
    assert main(["experiment", str(path), "--dry-run", "--set", "steps=5", "--set", "steps=6"]) == 2
    assert "--set sets 'steps' twice ('steps=5', then 'steps=6')" in one_line_error(capsys)
    assert main(["train", "--model", NAME, "--option", "kl_weight=1", "--option", "kl_weight=2",
                 "--out", str(tmp_path / "t")]) == 2
    assert "--option sets 'kl_weight' twice" in one_line_error(capsys)
    assert main(["sweep", "--model", NAME, "--out", str(tmp_path / "s"), "--dry-run",
                 "--set", "kl_weight=1,2", "--set", "model_options.kl_weight=3"]) == 2
    assert "grid axis 'model_options.kl_weight' twice" in one_line_error(capsys)
    assert not (tmp_path / "t").exists() and not (tmp_path / "s").exists()


# ------------------------------------------------------------------------------ output folders
LONG = "x" * 300


@pytest.mark.parametrize("out", [f"{LONG}/run", "/sys/gwrep-read-only-test/run"])
def test_train_out_that_cannot_be_made_is_one_line(tmp_path, capsys, monkeypatch, out):
    """--out with a 300-character name, or on a file system that refuses it (/sys): one line naming it."""
    monkeypatch.chdir(tmp_path)
    code = main(["train", "--model", NAME, "--data", "shapes2d", "--image-size", "28", "--steps", "2",
                 "--batch-size", "8", "--out", out, "--no-progress"])
    err = one_line_error(capsys)
    assert code in (1, 2) and out.split("/")[0 if out.startswith("x") else 1] in err
    assert "name too long" in err.lower() or "not permitted" in err.lower() or "denied" in err.lower()


def test_read_only_file_system_is_one_line(tmp_path, capsys, monkeypatch):
    """An OSError other than the usual ones (EROFS from a read-only mount) is one line naming the path."""
    real_mkdir = Path.mkdir

    def read_only(self, *args, **kwargs):
        if "ro-mount" in str(self):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", read_only)
    code = main(["train", "--model", NAME, "--data", "shapes2d", "--image-size", "28", "--steps", "2",
                 "--batch-size", "8", "--out", str(tmp_path / "ro-mount" / "run"), "--no-progress"])
    err = one_line_error(capsys)
    assert code == 1 and "Read-only file system" in err and str(tmp_path / "ro-mount") in err


@pytest.mark.filterwarnings("ignore:.*factor tuples are present")
def test_data_show_out_that_cannot_be_written_and_data_root(tmp_path, capsys):
    """gwrep data show: an --out it cannot write is one line naming it; --data-root reads the data set's files
    as in every other command (--root stays an alias)."""
    for out in (tmp_path / f"{LONG}.png", tmp_path / LONG / "sheet.png", Path("/sys/gwrep-sheet.png")):
        capsys.readouterr()
        assert main(["data", "show", "shapes2d", "--option", "image_size=28", "--out", str(out)]) in (1, 2)
        assert str(out.parent if LONG in out.parent.name else out)[:40] in one_line_error(capsys)
    import numpy as np

    from gwrep.data.dsprites import DSPRITES_FACTORS

    rng = np.random.default_rng(0)
    sizes = (3, 6, 40, 32, 32)
    np.savez(tmp_path / "dsprites_subset.npz", imgs=np.zeros((20, 64, 64), np.uint8),
             latents_classes=np.stack([rng.integers(0, s, 20) for s in sizes], 1))
    (tmp_path / "dsprites_subset.metadata.json").write_text(
        json.dumps({"latents_names": list(DSPRITES_FACTORS), "latents_sizes": list(sizes)}))
    for flag in ("--data-root", "--root"):  # found through either flag: it then says a subset cannot be shown
        capsys.readouterr()
        assert main(["data", "show", "dsprites", flag, str(tmp_path), "--option", "variant=subset",
                     "--out", str(tmp_path / "s.png")]) == 2
        assert "dsprites_subset.npz holds only some factor tuples" in one_line_error(capsys)


def test_ood_and_compare_refuse_an_out_that_is_a_file_before_the_work(tmp_path, capsys):
    run_dir = make_run(tmp_path, "shapes2d", image_shape=(1, 28, 28))
    taken = tmp_path / "taken.txt"
    taken.write_text("mine")
    for argv in (["ood", str(run_dir), "--ood-data", "shapes3d", "--out", str(taken)],
                 ["compare", str(run_dir), "--out", str(taken)]):
        capsys.readouterr()
        assert main(argv) == 2
        assert f"--out {taken} is a file" in one_line_error(capsys)
    assert taken.read_text() == "mine" and not (run_dir / "ood.json").exists()
    capsys.readouterr()
    assert main(["compare", str(run_dir), "--out", str(tmp_path / LONG / "cmp")]) == 1  # before reading any run
    assert "File name too long" in one_line_error(capsys)
    assert main(["compare", str(run_dir), "--out", str(taken / "below")]) == 2
    assert f"{taken} is a file, so no folder can be made below it" in one_line_error(capsys)
    assert main(["compare", str(tmp_path / "missing"), "--out", str(tmp_path / "new" / "cmp")]) == 2
    assert not (tmp_path / "new").exists()  # checked, not created, before the runs are read


# ------------------------------------------------------------------------ re-runs, folders of runs
SWEEP_BASE = {"model": NAME, "data": "unused", "batch_size": 16, "eval_every": 2, "patience": 0, "figures": False,
              "checkpoint_every": 3}


def test_sweep_rerun_with_more_steps_extends_completed_runs(tmp_path, capsys):
    """A sweep run again with more steps resumes its completed runs to the new length (to the weights a run
    trained straight to that length has), instead of reporting the old runs as completed."""
    from test_train_trainer import assert_same_state, weights

    data = {"dataset": blobs(64), "val_dataset": blobs(16, seed=1), "progress": False}
    first = run_sweep(expand_grid({**SWEEP_BASE, "steps": 4}, seeds=[0]), tmp_path / "sweep", **data)
    assert [(r["status"], r["step"]) for r in first] == [("completed", 4)]
    capsys.readouterr()
    again = run_sweep(expand_grid({**SWEEP_BASE, "steps": 9}, seeds=[0]), tmp_path / "sweep", **data)
    assert [(r["status"], r["step"], r.get("skipped")) for r in again] == [("completed", 9, None)]
    assert "completed 4 steps; resuming it to the 9 steps now planned" in capsys.readouterr().out
    straight = run_sweep(expand_grid({**SWEEP_BASE, "steps": 9}, seeds=[0]), tmp_path / "straight", **data)
    name = first[0]["name"]
    assert_same_state(weights(tmp_path / "sweep" / name), weights(tmp_path / "straight" / name))
    assert straight[0]["best_val_loss"] == again[0]["best_val_loss"]
    same = run_sweep(expand_grid({**SWEEP_BASE, "steps": 9}, seeds=[0]), tmp_path / "sweep", **data)
    assert same[0]["skipped"] is True  # nothing more planned: skipped as before


def test_sweep_rerun_says_it_keeps_an_early_stopped_run(tmp_path, capsys):
    data = {"dataset": blobs(64), "val_dataset": blobs(16, seed=1), "progress": False}
    first = run_sweep(expand_grid({**SWEEP_BASE, "steps": 4}, seeds=[0]), tmp_path, **data)
    summary_path = tmp_path / first[0]["name"] / "run.json"
    summary = json.loads(summary_path.read_text())
    summary_path.write_text(json.dumps({**summary, "status": "early_stopped"}))
    capsys.readouterr()
    again = run_sweep(expand_grid({**SWEEP_BASE, "steps": 9}, seeds=[0]), tmp_path, **data)
    assert again[0]["skipped"] is True and again[0]["step"] == 4
    out = capsys.readouterr().out
    assert "kept as it is at step 4, not extended to the 9 steps now planned: its patience ran out" in out


def test_eval_of_a_folder_scores_the_others_when_one_run_is_corrupt(tmp_path, fake_data, capsys):
    """gwrep eval FOLDER: a run with corrupt weights and one with no model are each reported in one line; the
    other runs are scored; exit 1. One corrupt run named alone is still an error (exit 2)."""
    sweep = tmp_path / "sweep"
    runs = [make_run(sweep, "plain", image_shape=(1, 28, 28), seed=s) for s in range(4)]
    weights_file = runs[1] / "model" / "weights.pt"
    data = bytearray(weights_file.read_bytes())
    data[len(data) // 2:len(data) // 2 + 64] = bytes(64)
    weights_file.write_bytes(bytes(data))
    import shutil

    shutil.rmtree(runs[2] / "model")
    capsys.readouterr()
    assert main(["eval", str(sweep), "--metrics", "psnr"]) == 1
    err = capsys.readouterr().err
    assert f"error: {runs[1]} not evaluated" in err and f"error: {runs[2]} not evaluated" in err
    assert f"2 of 4 runs not evaluated: {runs[1]}, {runs[2]}" in err and "Traceback" not in err
    assert [(r / "eval.json").is_file() for r in runs] == [True, False, False, True]
    assert main(["eval", str(runs[1]), "--metrics", "psnr"]) == 2
    one_line_error(capsys)
