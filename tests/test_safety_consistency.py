"""Consistent reads, checked data and results that say what they scored (issue 25, cases 6-8 and 10-12).

- a saved model read while its run saves a new best model is never reported corrupt (6);
- everything that scores a run records the step of the weights it scored and warns while the run trains (7);
- every item of a user's data set is checked as it is drawn, naming its index (8);
- ``gwrep compare`` keeps runs with a NaN metric and writes inf without failing (10);
- an unchanged experiment re-run skips its finished runs whatever form its YAML takes (11);
- ``--resume`` with an option at its current value is accepted (12).
"""
from __future__ import annotations

import json
import re
import threading

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

import gwrep
import gwrep.models.base as model_base
import gwrep.registry as registry
from gwrep.models.base import load_model, save_model
from tiny_models import ENTRY, NAME, TinyConfig, TinyVAE, blobs


@pytest.fixture(autouse=True)
def tiny_model(monkeypatch):
    monkeypatch.setitem(registry.MODELS, NAME, ENTRY)


def _tiny() -> TinyVAE:
    model = TinyVAE(TinyConfig())
    model.registry_name = NAME
    return model


# ------------------------------------------------------------------ 6: a model read while it is saved again
def _bump(model: TinyVAE) -> None:
    """The next "best model": one more step, and every decoder bias set to that step."""
    model.step += 1
    with torch.no_grad():
        model.decoder.bias.fill_(float(model.step))


def test_loads_while_a_writer_replaces_the_model_are_never_corrupt(tmp_path):
    """A writer thread saves a new model as fast as it can while 150 loads run: no load fails, and each gives
    weights that one of the saves wrote (its step and its bias agree). Before the fix about a third failed."""
    model, folder = _tiny(), tmp_path / "model"
    save_model(model, folder)
    stop, saves, failures, steps = threading.Event(), [0], [], []

    def writer():
        while not stop.is_set():
            _bump(model)
            save_model(model, folder)
            saves[0] += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(150):
            try:
                loaded = load_model(folder)
            except (ValueError, OSError) as err:
                failures.append(str(err))
                continue
            step = int(loaded.step)
            assert step == 0 or bool((loaded.decoder.bias == step).all())  # weights and step of one save
            steps.append(step)
    finally:
        stop.set()
        thread.join()
    assert failures == []
    assert saves[0] > 10 and len(set(steps)) > 5  # the reads really overlapped many saves


def _save_repeatedly(folder: str, saves: int) -> None:
    """A writer process: the next best model ``saves`` times (each save one more step, as a run does)."""
    model = _tiny()
    for _ in range(saves):
        _bump(model)
        save_model(model, folder)


def test_loads_while_another_process_saves_are_never_corrupt(tmp_path):
    """The same with the writer in its own process (what a run does beside gwrep eval)."""
    import multiprocessing

    folder = tmp_path / "model"
    save_model(_tiny(), folder)
    writer = multiprocessing.get_context("fork").Process(target=_save_repeatedly, args=(str(folder), 150))
    writer.start()
    steps, failures = [], []
    try:
        while writer.is_alive() or not steps:
            try:
                loaded = load_model(folder)
            except (ValueError, OSError) as err:
                failures.append(str(err))
                continue
            steps.append(int(loaded.step))
            assert steps[-1] == 0 or bool((loaded.decoder.bias == steps[-1]).all())
    finally:
        writer.join(timeout=60)
    assert writer.exitcode == 0 and failures == []
    assert len(set(steps)) > 3 and int(load_model(folder).step) == 150


def test_a_crash_between_the_two_writes_leaves_a_loadable_model(tmp_path, monkeypatch):
    """The process dies after the first of save_model's two files is replaced: the folder still loads (the
    previous weights, which model.json still accepts), also after a second such death, and a save after that
    is the new model. Before the fix (weights first), the new weights with the old model.json were "corrupt"."""
    model, folder = _tiny(), tmp_path / "model"
    save_model(model, folder)
    first = model.decoder.bias.detach().clone()
    real = model_base.atomic_write_bytes

    def killed_between_writes():
        writes = []

        def write(path, data):
            if writes:
                raise KeyboardInterrupt  # killed before the second file
            writes.append(path.name)
            return real(path, data)
        return write

    for _ in range(2):
        _bump(model)
        monkeypatch.setattr(model_base, "atomic_write_bytes", killed_between_writes())
        with pytest.raises(KeyboardInterrupt):
            save_model(model, folder)
        monkeypatch.setattr(model_base, "atomic_write_bytes", real)
        loaded = load_model(folder)
        assert int(loaded.step) == 0 and torch.equal(loaded.decoder.bias, first)  # the first save, verified
    save_model(model, folder)
    assert int(load_model(folder).step) == 2 and bool((load_model(folder).decoder.bias == 2).all())


def test_real_corruption_is_still_reported(tmp_path):
    """Weights that are no save's (a bad copy; an older save than the folder accepts) are corrupt."""
    model, folder = _tiny(), tmp_path / "model"
    save_model(model, folder)
    oldest = (folder / "weights.pt").read_bytes()
    for _ in range(3):
        _bump(model)
        save_model(model, folder)
    (folder / "weights.pt").write_bytes(oldest)  # three saves back: beyond the kept checksums
    with pytest.raises(ValueError, match=r"weights.pt is corrupt: its contents do not match the checksum in"):
        load_model(folder)
    state = model.state_dict()
    state["decoder.bias"] = state["decoder.bias"] + 0.5
    torch.save(state, folder / "weights.pt")
    with pytest.raises(ValueError, match=r"weights.pt is corrupt"):
        load_model(folder)


def test_a_folder_saved_with_another_model_accepts_only_its_own_weights(tmp_path):
    """The earlier checksums are kept only while the model and its config stay the same."""
    folder = tmp_path / "model"
    first = _tiny()
    save_model(first, folder)
    old_weights = (folder / "weights.pt").read_bytes()
    other = TinyVAE(TinyConfig(kl_weight=2.0))
    other.registry_name = NAME
    save_model(other, folder)
    assert "previous_weights_sha256" not in (folder / "model.json").read_text()
    (folder / "weights.pt").write_bytes(old_weights)
    with pytest.raises(ValueError, match="weights.pt is corrupt"):
        load_model(folder)


# ------------------------------------------------------------------ 8: every item of a user's data set checked
def _options(tmp_path, **overrides):
    return {"model": NAME, "data": "mine", "steps": 6, "batch_size": 10, "eval_every": 0, "figures": False,
            "out": str(tmp_path / "run"), **overrides}


def _with_item(images: torch.Tensor, index: int, item: torch.Tensor) -> list:
    """A list data set of (image, target) pairs whose item ``index`` is ``item``."""
    items = [(image, 0) for image in images]
    items[index] = (item, 0)
    return items


@pytest.mark.parametrize("index, make, match", [
    (37, lambda x: x * 255, r"dataset\[37\] ranges over \[0, 255\]; images must lie in \[0, 1\] \(divide by 255\)"),
    (50, lambda x: (x * 255).to(torch.uint8), r"dataset\[50\] is uint8 but the set's images are float32"),
    (3, lambda x: x * float("nan"), r"dataset\[3\] holds NaN or infinite values"),
    (61, lambda x: x - 0.25, r"dataset\[61\] ranges over \[-0.25, 0.75\]"),
    (98, lambda x: x[:, :27], r"dataset\[98\] has shape \(1, 27, 28\) but the set's images are \(1, 28, 28\)"),
    (22, lambda x: x.double(), r"dataset\[22\] is float64 but the set's images are float32"),
])
def test_a_bad_item_the_sample_misses_fails_the_run_naming_its_index(tmp_path, index, make, match):
    """Items 0, 14, 28, 42, 57, 71, 85 and 99 of 100 are sampled up front; a bad item elsewhere used to
    train silently. Now the batch that draws it fails, in one line naming the item."""
    images = blobs(100).tensors[0]
    data = _with_item(images, index, make(images[index]))
    with pytest.raises(ValueError, match=match) as info:
        gwrep.train(_options(tmp_path, steps=40), dataset=data, progress=False)
    assert "\n" not in str(info.value)
    summary = json.loads((tmp_path / "run" / "run.json").read_text())
    assert summary["status"] == "failed" and summary["message"] == f"ValueError: {info.value}"


def test_a_float_item_in_a_uint8_set_and_a_bad_validation_item(tmp_path):
    images = (blobs(60).tensors[0] * 255).to(torch.uint8)
    data = _with_item(images, 33, images[33].float())  # [0, 255] floats among uint8 images
    with pytest.raises(ValueError, match=r"dataset\[33\] is float32 but the set's images are uint8"):
        gwrep.train(_options(tmp_path, steps=30), dataset=data, progress=False)
    val = blobs(30).tensors[0].clone()
    val[17, 0, 0, 0] = 1.5
    with pytest.raises(ValueError, match=r"val_dataset\[17\] ranges over \[0, 1.5\]"):
        gwrep.train(_options(tmp_path, out=str(tmp_path / "two"), eval_every=3, val_batches=3),
                    dataset=blobs(60), val_dataset=TensorDataset(val, torch.zeros(30)), progress=False)


def test_checked_items_through_a_batched_data_set_and_numpy_items():
    """A set with ``__getitems__`` (gwrep's own views) is read in batches and still checked per item."""
    from gwrep.data.checks import check_image_dataset

    class Batched(TensorDataset):
        calls = 0

        def __getitems__(self, indices):
            Batched.calls += 1
            return [self[i] for i in indices]

    images = blobs(40).tensors[0].clone()
    images[23] *= 3
    checked = check_image_dataset(Batched(images, torch.zeros(40)))
    good = checked.__getitems__([1, 2, 3])
    assert Batched.calls == 1 and all(torch.equal(g[0], images[i]) for g, i in zip(good, (1, 2, 3)))
    with pytest.raises(ValueError, match=r"dataset\[23\] ranges over \[0, 3\]"):
        checked.__getitems__([20, 23])
    arrays = [np.full((1, 28, 28), 0.5, dtype=np.float32) for _ in range(30)]
    arrays[11] = np.full((1, 28, 28), 7.0, dtype=np.float32)
    with pytest.raises(ValueError, match=r"dataset\[11\] ranges over \[7, 7\]"):
        check_image_dataset(arrays)[11]


# ------------------------------------------------------------------ 7: scores record the weights they scored
@pytest.fixture
def plain_data(monkeypatch):
    """``gwrep.data.load`` replaced by 40 random 28x28 gray images for any set (eval's and ood's loads)."""
    import gwrep.data
    from gwrep.data.views import ArrayImageDataset

    def load(name, root=None, split="train", **options):
        seed = {"mnist": 1, "omniglot": 2}.get(name, 3)
        images = np.random.default_rng(seed).integers(0, 256, (40, 1, 28, 28), dtype=np.uint8)
        return ArrayImageDataset(images, np.zeros(40))

    monkeypatch.setattr(gwrep.data, "load", load, raising=False)


def _run_at(tmp_path, name: str, weights_step: int, status: str = "completed", run_step: int = 900):
    """A run folder whose model holds the weights of ``weights_step`` and whose run.json says ``status``."""
    from run_folders import make_run

    run_dir = make_run(tmp_path, "mnist", image_shape=(1, 28, 28), name=name)
    model = load_model(run_dir / "model")
    model.step.fill_(weights_step)
    save_model(model, run_dir / "model")
    (run_dir / "run.json").write_text(json.dumps({"status": status, "step": run_step, "best_step": weights_step}))
    return run_dir


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning:")]


def test_eval_and_ood_record_the_step_of_the_weights_they_scored(tmp_path, plain_data, capsys):
    from gwrep.cli import main

    run_dir = _run_at(tmp_path, "done", weights_step=600)
    assert main(["eval", str(run_dir), "--metrics", "psnr"]) == 0
    assert main(["ood", str(run_dir)]) == 0
    assert _warnings(capsys.readouterr().err) == []  # a finished run: nothing to warn about
    for name in ("eval.json", "ood.json"):
        doc = json.loads((run_dir / name).read_text())
        assert doc["weights"] == {"step": 600, "run_step": 900, "run_status": "completed", "training": False}
    assert json.loads((run_dir / "eval.json").read_text())["metric_steps"] == {"psnr": 600}


def test_scoring_a_run_that_is_still_training_warns_and_says_so(tmp_path, plain_data, capsys):
    """Its lock held by a live process (here this one, through another descriptor): eval, ood and compare warn
    naming the run and the step scored, and the JSON says training."""
    from gwrep.cli import main
    from gwrep.train.run import RunLock

    run_dir = _run_at(tmp_path, "busy", weights_step=250, status="running", run_step=0)
    with RunLock(run_dir):
        assert main(["eval", str(run_dir), "--metrics", "psnr"]) == 0
        assert main(["ood", str(run_dir)]) == 0
        assert main(["compare", str(run_dir), "--out", str(tmp_path / "cmp")]) == 0
    lines = _warnings(capsys.readouterr().err)
    assert len(lines) == 3 and all(str(run_dir) in line and "still training" in line for line in lines)
    assert "the weights of step 250" in lines[0] and "eval.json records that step" in lines[0]
    assert "ood.json records that step" in lines[1] and "step(s) [250]" in lines[2]
    for name in ("eval.json", "ood.json"):
        assert json.loads((run_dir / name).read_text())["weights"]["training"] is True
    assert "still training" in (tmp_path / "cmp" / "comparison.md").read_text()
    # the lock released, run.json still says running: a run killed before it could say how it ended
    assert main(["eval", str(run_dir), "--metrics", "psnr"]) == 0
    (line,) = _warnings(capsys.readouterr().err)
    assert "run.json says the run is running, but no process holds its lock" in line and f"--resume {run_dir}" in line
    assert json.loads((run_dir / "eval.json").read_text())["weights"]["training"] is False


def test_eval_json_says_when_its_metrics_come_from_different_weights(tmp_path, plain_data, capsys):
    from gwrep.cli import main

    run_dir = _run_at(tmp_path, "moved", weights_step=100)
    assert main(["eval", str(run_dir), "--metrics", "psnr"]) == 0
    model = load_model(run_dir / "model")
    model.step.fill_(300)  # the run went on and saved a better model
    save_model(model, run_dir / "model")
    args = ["eval", str(run_dir), "--metrics", "psnr", "--psnr-num", "20"]
    doc_before = json.loads((run_dir / "eval.json").read_text())
    assert doc_before["metric_steps"] == {"psnr": 100}
    assert main(args) == 0
    doc = json.loads((run_dir / "eval.json").read_text())
    assert doc["metric_steps"] == {"psnr": 300} and "weights" not in doc["notes"]  # replaced: one model again
    (run_dir / "eval.json").write_text(json.dumps({**doc, "metrics": {**doc["metrics"], "mig": {"discrete_mig": 0.1}},
                                                   "metric_steps": {"psnr": 300, "mig": 100}}))
    assert main(args) == 0
    doc = json.loads((run_dir / "eval.json").read_text())
    assert doc["metric_steps"] == {"psnr": 300, "mig": 100}
    assert "different steps" in doc["notes"]["weights"] and "note: weights:" in capsys.readouterr().out


def test_compare_records_the_steps_and_warns_when_files_scored_other_weights(tmp_path, capsys):
    from gwrep.cli import main

    run_dir = _run_at(tmp_path, "mixed", weights_step=100)
    (run_dir / "eval.json").write_text(json.dumps({"summary": {"psnr": 20.0}, "weights": {"step": 100}}))
    (run_dir / "ood.json").write_text(json.dumps({"summary": {"ood_auroc": 0.7}, "weights": {"step": 400}}))
    assert main(["compare", str(run_dir), "--out", str(tmp_path / "cmp")]) == 0
    (line,) = _warnings(capsys.readouterr().err)
    assert "scored different weights (eval.json step 100, ood.json step 400)" in line
    doc = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert doc[NAME]["weights_steps"] == [{"eval.json": 100, "ood.json": 400}]


# ------------------------------------------------------------------ 10: compare with NaN and inf metrics
def _summary_run(tmp_path, seed: int, summary: dict) -> object:
    from run_folders import make_run

    run_dir = make_run(tmp_path, "mnist", seed=seed, image_shape=(1, 28, 28))
    (run_dir / "eval.json").write_text(json.dumps({"summary": summary}))  # json writes NaN/Infinity tokens
    return run_dir


@pytest.mark.parametrize("bad, shown", [(float("nan"), "1 NaN"), (float("inf"), "1 inf"), (float("-inf"), "1 inf")])
def test_compare_keeps_a_non_finite_run_and_writes_every_file(tmp_path, capsys, bad, shown):
    from gwrep.cli import main

    runs = [_summary_run(tmp_path, 0, {"psnr": 20.0, "mig": 0.5}), _summary_run(tmp_path, 1, {"psnr": 22.0, "mig": bad}),
            _summary_run(tmp_path, 2, {"psnr": 24.0, "mig": 0.7})]
    out = tmp_path / "cmp"
    assert main(["compare", *map(str, runs), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert f"0.600 ± 0.141 (n=2; {shown})" in captured.out  # the table counts it
    (line,) = _warnings(captured.err)
    assert str(runs[1]) in line and f"mig is {bad}" in line and "eval.json" in line
    assert f"note: {out / 'comparison.json'}: 1 value(s) not finite" in captured.err
    doc = json.loads((out / "comparison.json").read_text())
    mig = doc[NAME]["metrics"]["mig"]
    assert mig["values"] == [0.5, {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}[str(bad)], 0.7]
    assert mig["n"] == 2 and mig["non_finite"] == 1 and mig["mean"] == pytest.approx(0.6)
    assert doc[NAME]["seeds"] == [0, 1, 2]  # the run is kept
    assert f"(n=2; {shown})" in (out / "comparison.md").read_text() and (out / "comparison.png").is_file()


def test_all_runs_non_finite_and_what_gwrep_writes_reads_back(tmp_path, capsys):
    from gwrep.cli import main
    from gwrep.commands._runs import write_json
    from gwrep.commands.compare import run_summary

    runs = [_summary_run(tmp_path, s, {"fid": float("nan")}) for s in (0, 1)]
    write_json(runs[1] / "eval.json", {"summary": {"fid": float("inf")}})  # gwrep's own writer: strings
    assert json.loads((runs[1] / "eval.json").read_text()) == {"summary": {"fid": "Infinity"}}
    assert f"note: {runs[1] / 'eval.json'}: 1 value(s) not finite" in capsys.readouterr().err
    assert run_summary(runs[1]) == {"fid": float("inf")}
    assert main(["compare", *map(str, runs), "--out", str(tmp_path / "cmp")]) == 0
    assert "not finite (1 NaN, 1 inf)" in capsys.readouterr().out
    (runs[0] / "eval.json").write_text(json.dumps({"summary": {"fid": "big"}}))
    with pytest.raises(ValueError, match=r"eval.json: summary value 'fid' is 'big', not a number"):
        run_summary(runs[0])


# ------------------------------------------------------------------ 11: an unchanged experiment re-run skips its runs
_EXPERIMENT = """\
name: mine
title: a user's experiment
task: disentanglement
base: {{data: shapes2d, {base}}}
models:
  {model}
scales:
  smoke:
    seeds: [0]
    train: {{steps: 3, batch_size: 8, eval_every: 0, figures: false}}
evaluation: {{metrics: [mig], fast: true}}
"""


def _experiment(tmp_path, name: str, model: str, base: str = "data_options: {image_size: 28}"):
    from gwrep.experiments import load_experiment

    path = tmp_path / f"{name}.yaml"
    path.write_text(_EXPERIMENT.format(model=model, base=base))
    return load_experiment(path)


@pytest.fixture
def finished_runs(tmp_path):
    """The runs of the experiment whose model entry has no options at all (``tiny-vae:``), trained."""
    runs = tmp_path / "out" / "runs"
    for point in _experiment(tmp_path, "first", f"{NAME}:").points("smoke"):
        assert gwrep.train({**point.options, "out": str(runs / point.name)}, progress=False).status == "completed"
    return runs


_SAME = "data_options: {image_size: 28}"


@pytest.mark.parametrize("model, base", [
    (f"{NAME}:", _SAME),  # the same file again: was refused ("model_options: None -> {}")
    (f"{NAME}: {{}}", _SAME),
    (f"{NAME}: {{model_options: }}", _SAME),  # YAML's null
    (f"{NAME}: {{model_options: {{}}}}", _SAME),
    (f"{NAME}: {{model_options: {{lr: 0.01, kl_weight: 1}}}}", _SAME),  # the defaults written out (1 for 1.0)
    (f"{NAME}: {{model_options: {{lr: '1e-2', latent_dim: '2'}}}}", _SAME),  # as text
    (f"{NAME}:", "model_options: {}, data_options: {image_size: '28', seed: 0}"),  # data defaults written out
    (f"{NAME}:", "model_options: , data_options: {image_size: 28, channels: 1}"),  # the native channels named
])
def test_an_unchanged_experiment_finds_its_finished_runs_whatever_form_its_yaml_takes(tmp_path, finished_runs, model,
                                                                                       base):
    from gwrep.commands.experiment import check_existing_runs

    check_existing_runs(_experiment(tmp_path, "again", model, base).points("smoke"), finished_runs)


@pytest.mark.parametrize("model, change", [
    (f"{NAME}: {{model_options: {{lr: 0.02}}}}", "model_options.lr: 0.01 -> 0.02"),
    (f"{NAME}: {{model_options: {{latent_dim: 3}}}}", "model_options.latent_dim: 2 -> 3"),
    (f"{NAME}: {{data_options: {{seed: 4}}}}", "data_options.seed: 0 -> 4"),
])
def test_a_changed_experiment_is_still_refused(tmp_path, finished_runs, model, change):
    from gwrep.commands.experiment import check_existing_runs

    with pytest.raises(ValueError, match=rf"{NAME}-s0 was trained with other options than this experiment plans "
                                         rf"\({re.escape(change)}\)"):
        check_existing_runs(_experiment(tmp_path, "changed", model).points("smoke"), finished_runs)


def test_running_the_same_user_experiment_twice_skips_the_finished_run(tmp_path, capsys):
    """End to end: the second call trains nothing and exits 0 (it used to exit 2, advising to delete the run)."""
    from gwrep.cli import main

    _experiment(tmp_path, "exp", f"{NAME}:")
    argv = ["experiment", str(tmp_path / "exp.yaml"), "--out", str(tmp_path / "out"), "--no-progress"]
    assert main(argv) == 0
    first = json.loads((tmp_path / "out" / "results.json").read_text())
    assert main(argv) == 0
    again = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [i["runs_trained"] for i in again["invocations"]] == [1, 0]
    assert again["runs"][0]["step"] == first["runs"][0]["step"] == 3


# ------------------------------------------------------------------ 12: --resume with an option at its current value
def _cut_run(tmp_path):
    """A tiny-vae run on procedural shapes2d at 28x28 stopped at step 5 of 8 (its lr is the default, 1e-2)."""
    def stop(step, logs):
        if step == 5:
            raise KeyboardInterrupt

    options = {"model": NAME, "data": "shapes2d", "data_options": {"image_size": 28}, "steps": 8, "batch_size": 8,
               "eval_every": 0, "checkpoint_every": 5, "figures": False, "out": str(tmp_path / "run")}
    assert gwrep.train(options, callbacks=[stop], progress=False).status == "interrupted"
    return tmp_path / "run"


@pytest.mark.parametrize("flags", [
    ["--lr", "0.01"], ["--lr", "1e-2"], ["--option", "lr=0.01"], ["--option", "kl_weight=1"],
    ["--latent-dim", "2"], ["--image-size", "28"], ["--data-option", "seed=0"], ["--lr", "0.01", "--steps", "8"],
])
def test_resume_accepts_options_given_at_their_current_value(tmp_path, capsys, flags):
    from gwrep.cli import main

    run_dir = _cut_run(tmp_path)
    assert main(["train", "--resume", str(run_dir), "--no-progress", *flags]) == 0
    assert json.loads((run_dir / "run.json").read_text())["status"] == "completed"
    assert json.loads((run_dir / "run.json").read_text())["step"] == 8


@pytest.mark.parametrize("flags, change", [
    (["--lr", "0.02"], r"model_options.lr \(model_options.lr: 0.01 -> 0.02\)"),
    (["--option", "kl_weight=2"], r"model_options.kl_weight: 1.0 -> 2.0"),
    (["--image-size", "64"], r"data_options.image_size: 28 -> 64"),
    (["--seed", "3"], r"seed: 0 -> 3"),
])
def test_resume_still_refuses_a_real_change(tmp_path, capsys, flags, change):
    from gwrep.cli import main

    run_dir = _cut_run(tmp_path)
    assert main(["train", "--resume", str(run_dir), "--no-progress", *flags]) == 2
    err = capsys.readouterr().err
    assert re.search(rf"cannot resume {re.escape(str(run_dir))} with a different .*{change}", err), err
