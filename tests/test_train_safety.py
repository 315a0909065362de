"""Tests for the trainer's data safety (issue 13): checksums, one writer, disk full, resume rules, progress lines."""
from __future__ import annotations

import errno
import json
import os

import pytest
import torch

import gwrep.registry as registry
from gwrep.cli import main
from gwrep.train import train
from gwrep.train.checkpoint import CorruptCheckpointError, load_checkpoint
from gwrep.train.run import RunLock, RunLockedError
from gwrep.train.trainer import RunWriteError
from test_train_trainer import assert_same_state, config, fit, weights
from tiny_models import ENTRY, NAME, blobs


@pytest.fixture(autouse=True)
def tiny_model(monkeypatch):
    monkeypatch.setitem(registry.MODELS, NAME, ENTRY)


def stop_at(step_to_stop: int):
    def callback(step, logs):
        if step == step_to_stop:
            raise KeyboardInterrupt
    return callback


def on_shapes2d(tmp_path, name="run", **overrides):
    """A config on procedural shapes2d at 28x28, so that ``gwrep train --resume`` can load its data by name."""
    return config(tmp_path, name, data="shapes2d", data_options={"image_size": 28}, val_batches=2, **overrides)


def flip_4kb(path) -> None:
    """Invert 4 kB in the middle of a file (a bad disk sector, a bad copy)."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2 - 2048
    data[middle:middle + 4096] = bytes(b ^ 0xFF for b in data[middle:middle + 4096])
    path.write_bytes(bytes(data))


def files_named(run_dir, suffix: str) -> list[str]:
    return sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob(f"*{suffix}"))


# ------------------------------------------------------------------ checksums
def test_resume_refuses_a_corrupt_last_checkpoint_and_offers_best(tmp_path, capsys):
    """4 kB flipped inside last.pt: --resume refuses with one line naming it and offering best.pt; the run
    folder is left as it was; --from-best then continues exactly as an uninterrupted run."""
    straight = fit(config(tmp_path, "straight"))
    cfg = config(tmp_path, "cut")
    assert fit(cfg, callbacks=[stop_at(13)]).step == 13
    run_dir = tmp_path / "cut"
    best_step = load_checkpoint(run_dir / "checkpoints" / "best.pt")["trainer"]["step"]
    last = run_dir / "checkpoints" / "last.pt"
    flip_4kb(last)
    before = {name: (run_dir / name).read_bytes() for name in ("run.json", "config.json", "metrics.jsonl")}
    with pytest.raises(CorruptCheckpointError) as caught:
        fit(cfg, resume=True)
    message = str(caught.value)
    assert "\n" not in message and (f"{last} is corrupt" in message or f"{last} is not a readable" in message)
    assert f"best.pt (step {best_step}, checksum verified)" in message and "--from-best" in message
    assert {name: (run_dir / name).read_bytes() for name in before} == before  # nothing rewritten
    resumed = fit(cfg, resume="best")
    assert resumed.status == "completed" and resumed.step == 30
    assert (run_dir / "checkpoints" / "last.pt.corrupt").is_file()
    assert_same_state(weights(straight.dir), weights(resumed.dir))
    assert straight.metrics() == resumed.metrics()


def test_corrupt_checkpoint_through_the_command(tmp_path, capsys):
    """gwrep train --resume: one line offering --from-best, exit 2; then --from-best completes the run."""
    train(on_shapes2d(tmp_path, "cut", steps=16), progress=False, callbacks=[stop_at(13)])
    flip_4kb(tmp_path / "cut" / "checkpoints" / "last.pt")
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "cut"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "last.pt is" in err and "--from-best" in err and "Traceback" not in err
    assert main(["train", "--resume", str(tmp_path / "cut"), "--from-best", "--no-progress"]) == 0
    assert json.loads((tmp_path / "cut" / "run.json").read_text())["status"] == "completed"
    assert main(["train", "--from-best", "--model", NAME, "--out", str(tmp_path / "x")]) == 2


def test_best_corrupt_too_is_said(tmp_path):
    cfg = config(tmp_path, "cut")
    fit(cfg, callbacks=[stop_at(13)])
    flip_4kb(tmp_path / "cut" / "checkpoints" / "last.pt")
    flip_4kb(tmp_path / "cut" / "checkpoints" / "best.pt")
    with pytest.raises(CorruptCheckpointError, match=r"best\.pt cannot be used either .*start a new run"):
        fit(cfg, resume=True)


def test_checkpoint_without_checksum_loads_with_a_warning(tmp_path):
    """Checkpoints written before checksums existed still resume, with a warning that they are unverified."""
    from gwrep.train.checkpoint import CHECKSUM_KEY

    cfg = config(tmp_path, "old")
    fit(cfg, callbacks=[stop_at(13)])
    last = tmp_path / "old" / "checkpoints" / "last.pt"
    state = torch.load(last, weights_only=True)
    del state[CHECKSUM_KEY], state["meta"]
    torch.save(state, last)
    with pytest.warns(UserWarning, match="has no checksum"):
        assert fit(cfg, resume=True).step == 30


# ------------------------------------------------------------------ one writer
def test_second_writer_fails_at_once_naming_the_holder(tmp_path, capsys):
    cfg = config(tmp_path, steps=4)
    with RunLock(tmp_path / "run"):  # another process would hold it the same way (flock per open file)
        with pytest.raises(RunLockedError, match=rf"{tmp_path / 'run'} is in use .*\(pid {os.getpid()}\)"):
            fit(cfg)
        assert not (tmp_path / "run" / "config.json").exists()
        assert main(["train", "--model", NAME, "--out", str(tmp_path / "run"), "--steps", "2", "--no-progress",
                     "--data", "shapes2d", "--image-size", "28"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"pid {os.getpid()}" in err and str(tmp_path / "run") in err
    assert fit(cfg).status == "completed"  # released: the folder is usable


def test_sweep_reports_a_locked_run_folder_in_one_line(tmp_path, capsys):
    """``gwrep sweep`` (like ``gwrep train``) turns RunLockedError into one line and exit 2, not a traceback."""
    from gwrep.train.sweep import expand_grid

    (point,) = expand_grid({"steps": 2}, models=[NAME], seeds=[0])
    with RunLock(tmp_path / "sweep" / point.name):
        code = main(["sweep", "--model", NAME, "--seeds", "0", "--steps", "2", "--out", str(tmp_path / "sweep"),
                     "--no-progress", "--data", "shapes2d", "--image-size", "28"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("gwrep sweep: error: ") and err.count("\n") == 1 and f"pid {os.getpid()}" in err


def test_a_run_holds_its_folder_while_training(tmp_path):
    """While one train() runs in a folder, a second one on the same folder (or its resume) is refused."""
    refusals = []

    def try_second_writer(step, logs):
        if step == 3:
            for resume in (False, True):
                with pytest.raises(RunLockedError, match=f"pid {os.getpid()}") as caught:
                    fit(config(tmp_path, steps=4), resume=resume)
                refusals.append(str(caught.value))

    run = fit(config(tmp_path, steps=4), callbacks=[try_second_writer])
    assert run.status == "completed" and len(refusals) == 2
    assert [r["step"] for r in run.metrics("train")] == [4]  # no interleaved lines from the second writer
    RunLock(tmp_path / "run").acquire().release()  # released at the end


# ------------------------------------------------------------------ disk full
class _FullDisk:
    """``open`` for one module whose files raise ENOSPC once half of a write to a matching path went out."""

    def __init__(self, match: str, after: int = 0):
        self.match, self.after, self.seen = match, after, 0

    def __call__(self, file, mode="r", *args, **kwargs):
        handle = open(file, mode, *args, **kwargs)
        if self.match not in os.fspath(file) or "r" in mode:
            return handle
        self.seen += 1
        if self.seen <= self.after:
            return handle
        original_write = handle.write

        def write(data):
            original_write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        handle.write = write
        return handle


def _patched_open(monkeypatch, module: str, full: _FullDisk) -> None:
    import importlib

    monkeypatch.setattr(importlib.import_module(module), "open", full, raising=False)


@pytest.mark.parametrize("target, module, after", [
    ("last.pt", "gwrep.integrity", 1),  # the step-0 checkpoint goes through, the one at step 7 does not
    ("metrics.jsonl", "gwrep.train.trainer", 2),
    ("best.pt", "gwrep.integrity", 0),
    ("weights.pt", "gwrep.integrity", 0),
])
def test_disk_full_is_one_line_with_no_temporary_files(tmp_path, monkeypatch, target, module, after):
    full = _FullDisk(target, after)
    _patched_open(monkeypatch, module, full)
    cfg = config(tmp_path)
    with pytest.raises(RunWriteError) as caught:
        fit(cfg)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"cannot write {tmp_path / 'run'}")
    assert target in message.split(":")[0] and "No space left on device" in message
    assert caught.value.errno == errno.ENOSPC and caught.value.__cause__ is None
    run_dir = tmp_path / "run"
    assert files_named(run_dir, ".tmp") == []
    summary = json.loads((run_dir / "run.json").read_text())
    assert summary["status"] == "failed" and summary["message"] == message
    step = load_checkpoint(run_dir / "checkpoints" / "last.pt")["trainer"]["step"]  # the kept one verifies
    assert f"(step {step})" in message


def test_disk_full_through_the_command(tmp_path, monkeypatch, capsys):
    _patched_open(monkeypatch, "gwrep.integrity", _FullDisk("last.pt", 1))
    code = main(["train", "--model", NAME, "--steps", "9", "--checkpoint-every", "7", "--out", str(tmp_path / "r"),
                 "--data", "shapes2d", "--image-size", "28", "--batch-size", "16", "--eval-every", "0",
                 "--no-figures", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert f"cannot write {tmp_path / 'r' / 'checkpoints' / 'last.pt'}: No space left on device" in err


def test_run_json_that_cannot_be_written_is_said(tmp_path, monkeypatch):
    """When even run.json cannot record the failure, the error says so (best effort, not a second traceback)."""
    _patched_open(monkeypatch, "gwrep.integrity", _FullDisk("", 6))  # config, metrics, last.pt, run.json, ...
    with pytest.raises(RunWriteError, match="run.json could not record the failure either"):
        fit(config(tmp_path))
    assert files_named(tmp_path / "run", ".tmp") == []


# ------------------------------------------------------------------ resume rules
def test_torn_metrics_line_is_dropped_on_resume(tmp_path):
    """A crash mid-write leaves a torn last metrics line: resume warns, drops it and ends as an uninterrupted run."""
    straight = fit(config(tmp_path, "straight"))
    cfg = config(tmp_path, "torn")
    fit(cfg, callbacks=[stop_at(13)])
    with open(tmp_path / "torn" / "metrics.jsonl", "a") as f:
        f.write('{"step": 16, "split": "tr')
    with pytest.warns(UserWarning, match="dropped a torn last line"):
        resumed = fit(cfg, resume=True)
    assert resumed.status == "completed" and straight.metrics() == resumed.metrics()


def test_resume_refuses_a_checkpoint_of_another_model(tmp_path):
    fit(config(tmp_path, "tiny", steps=3))
    vae = config(tmp_path, "vae", model="vae", steps=3, model_options={"latent_dim": 2})
    fit(vae)
    (tmp_path / "vae" / "checkpoints" / "last.pt").write_bytes((tmp_path / "tiny" / "checkpoints" / "last.pt").read_bytes())
    with pytest.raises(ValueError) as caught:
        fit(vae.replace(steps=6), resume=True)
    assert str(caught.value) == (f"cannot resume: {tmp_path / 'vae' / 'checkpoints' / 'last.pt'} is a checkpoint of "
                                 f"model '{NAME}'; this run ({tmp_path / 'vae' / 'config.json'}) is model 'vae'")


def test_resume_summarizes_a_state_dict_that_does_not_fit(tmp_path):
    """Same model name, other shapes (another run's last.pt copied in): one line, not torch's size-mismatch list."""
    fit(config(tmp_path, "small", steps=3))
    big = config(tmp_path, "big", steps=3, model_options={"latent_dim": 3})
    fit(big)
    (tmp_path / "big" / "checkpoints" / "last.pt").write_bytes(
        (tmp_path / "small" / "checkpoints" / "last.pt").read_bytes())
    with pytest.raises(ValueError) as caught:
        fit(big.replace(steps=6), resume=True)
    message = str(caught.value)
    assert "\n" not in message and "size mismatch" not in message
    assert message.endswith(f"does not fit this run's {NAME} model: 3 tensors of another shape (saved vs model): "
                            "encoder.weight (4, 784) vs (6, 784), encoder.bias (4,) vs (6,), "
                            "decoder.weight (784, 2) vs (784, 3)")


def test_resume_with_fewer_steps_than_done_is_refused(tmp_path, capsys):
    cfg = on_shapes2d(tmp_path, steps=12)
    train(cfg, progress=False)
    run_dir = tmp_path / "run"
    before = {name: (run_dir / name).read_bytes() for name in ("run.json", "config.json", "metrics.jsonl")}
    with pytest.raises(ValueError, match=r"with 8 planned steps: 12 steps are already done; give --steps 12 or more"):
        train(cfg.replace(steps=8), resume=True, progress=False)
    assert main(["train", "--resume", str(run_dir), "--steps", "5", "--no-progress"]) == 2
    assert "5 planned steps: 12 steps are already done" in capsys.readouterr().err
    assert {name: (run_dir / name).read_bytes() for name in before} == before
    assert json.loads(before["run.json"])["planned_steps"] == 12


# ------------------------------------------------------------------ progress lines
def test_plain_progress_lines_when_stdout_is_not_a_terminal(tmp_path, capsys):
    """progress=None with stdout captured (not a terminal): a flushed line every log_every steps."""
    train(config(tmp_path, steps=8, eval_every=4, log_every=4, max_minutes=30.0), dataset=blobs(100),
          val_dataset=blobs(32, seed=1))
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("run: ")]
    steps = [line.split(" | ")[0] for line in lines if " | " in line]
    assert steps == ["run: step 4/8", "run: step 8/8"]
    first = lines[0]
    for part in ("loss ", "reconstruction ", "kl ", "elapsed ", "ETA ", "time budget left "):
        assert part in first, (part, first)
    assert any("validation loss" in line for line in lines)
    train(config(tmp_path, "quiet", steps=4), dataset=blobs(100), progress=False)
    assert "step" not in capsys.readouterr().out


def test_figures_at_each_validation_name_the_step(tmp_path, monkeypatch):
    import gwrep.eval.figures as figures

    calls, original = [], figures.save_run_figures

    def recording(model, x, metrics, out_dir, seed=0, traversal_dims=16, step=None):
        calls.append(step)
        return original(model, x, metrics, out_dir, seed=seed, traversal_dims=traversal_dims, step=step)

    monkeypatch.setattr(figures, "save_run_figures", recording)
    seen = []
    run = fit(config(tmp_path, steps=7, eval_every=5, figures=True),
              callbacks=[lambda step, logs: seen.append((step, (tmp_path / "run" / "figures" / "samples.png").is_file()))])
    assert calls == [5, run.summary["best_step"]]  # at the validation, then the run's model at the end
    assert dict(seen)[4] is False and dict(seen)[5] is True  # written at the validation, during training


def test_end_message_says_what_stopped_the_run(tmp_path, monkeypatch):
    done = fit(config(tmp_path, "steps", steps=6, max_minutes=30.0))
    assert done.summary["message"] == "completed the 6 planned steps, within the time budget of 30.0 min"
    clock = iter(range(10**6))
    monkeypatch.setattr("gwrep.train.trainer.time.monotonic", lambda: 60.0 * next(clock))
    capped = fit(config(tmp_path, "capped", steps=20, max_minutes=3.0))
    assert capped.summary["message"].startswith(f"stopped by the time budget (3.0 min) at step {capped.step} of 20 "
                                                "planned steps")


def test_a_read_error_is_not_called_a_write_error(tmp_path):
    """Only the trainer's own writes become RunWriteError; a data set failing to read keeps its error."""

    class Vanishing(torch.utils.data.Dataset):
        def __init__(self):
            self.inner = blobs(100)

        def __len__(self):
            return len(self.inner)

        def __getitem__(self, i):
            if Vanishing.reads > 40:
                raise FileNotFoundError(2, "No such file or directory", "/data/shard-3.npz")
            Vanishing.reads += 1
            return self.inner[i]

    Vanishing.reads = 0
    with pytest.raises(FileNotFoundError, match="shard-3.npz"):
        train(config(tmp_path, eval_every=0), dataset=Vanishing(), progress=False)
    summary = json.loads((tmp_path / "run" / "run.json").read_text())
    assert summary["status"] == "failed" and "cannot write" not in summary["message"]


def test_missing_last_checkpoint_points_to_best(tmp_path):
    cfg = config(tmp_path, "cut")
    fit(cfg, callbacks=[stop_at(13)])
    (tmp_path / "cut" / "checkpoints" / "last.pt").unlink()
    with pytest.raises(FileNotFoundError, match=r"last\.pt not found; .*best\.pt is there: resume from it with --from-best"):
        fit(cfg, resume=True)
    assert fit(cfg, resume="best").status == "completed"


def test_temporaries_of_a_killed_save_are_removed_on_resume(tmp_path):
    """kill -9 in the middle of a save leaves last.pt.tmp (the old last.pt intact): the next run on the folder,
    which holds the lock, removes it."""
    cfg = config(tmp_path, "cut")
    fit(cfg, callbacks=[stop_at(13)])
    for name in ("checkpoints/last.pt.tmp", "model/weights.pt.tmp", "run.json.tmp"):
        (tmp_path / "cut" / name).write_bytes(b"half a file")
    assert fit(cfg, resume=True).status == "completed"
    assert files_named(tmp_path / "cut", ".tmp") == []


_FILE_SIZE_LIMIT_SCRIPT = """
import resource, signal, sys
sys.path.insert(0, sys.argv[2])
import gwrep.registry as registry
from tiny_models import ENTRY, NAME, blobs
from gwrep.train import TrainConfig, train
from gwrep.train.trainer import RunWriteError
registry.MODELS[NAME] = ENTRY
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))  # config, metrics, run.json fit; a checkpoint does not
cfg = TrainConfig(model=NAME, steps=5, batch_size=16, eval_every=0, figures=False, out=sys.argv[1])
try:
    train(cfg, dataset=blobs(40), progress=False)
except RunWriteError as err:
    print("RunWriteError", err.errno, err)
"""


def test_a_real_write_error_from_the_kernel(tmp_path):
    """No monkeypatching: a file-size limit makes the kernel refuse the checkpoint's write (EFBIG)."""
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-c", _FILE_SIZE_LIMIT_SCRIPT, str(out), str(Path(__file__).parent)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (f"RunWriteError {errno.EFBIG} cannot write {out / 'checkpoints' / 'last.pt'}: "
                                     f"{os.strerror(errno.EFBIG)}")
    assert files_named(out, ".tmp") == []
    summary = json.loads((out / "run.json").read_text())
    assert summary["status"] == "failed" and summary["message"].startswith("cannot write")


@pytest.mark.slow
def test_two_gwrep_train_processes_on_one_folder(tmp_path):
    """The issue's case: a second `gwrep train --out SAME` while the first runs fails at once naming the first's pid;
    the first, stopped with SIGTERM, ends `interrupted` and its folder resumes."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    argv = ["train", "--model", "vae", "--data", "shapes2d", "--image-size", "28", "--batch-size", "16",
            "--steps", "100000", "--max-minutes", "5", "--eval-every", "0", "--no-figures", "--out", str(out)]
    first = subprocess.Popen([sys.executable, "-m", "gwrep.cli", *argv], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / "run.json").is_file():  # the lock is held from before run.json is first written
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.2)
        second = subprocess.run([sys.executable, "-m", "gwrep.cli", *argv], capture_output=True, text=True,
                                timeout=120)
        assert second.returncode == 2
        assert second.stderr == (f"gwrep train: error: {out} is in use by another gwrep training process "
                                 f"(pid {first.pid}); wait for it to end or choose another --out\n")
    finally:
        first.send_signal(signal.SIGTERM)
        stdout, _ = first.communicate(timeout=120)
    assert first.returncode == 130 and "interrupted at step" in stdout
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"


def test_disk_full_when_ctrl_c_saves(tmp_path, monkeypatch):
    """Ctrl-C's own checkpoint hitting a full disk: the same one line, the previous last.pt kept, run.json failed."""
    _patched_open(monkeypatch, "gwrep.integrity", _FullDisk("last.pt", 2))  # step 0 and 7 save, the interrupt's not
    with pytest.raises(RunWriteError, match=r"cannot write .*last\.pt: No space left on device; .*\(step 7\)"):
        fit(config(tmp_path), callbacks=[stop_at(9)])
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "failed"
    assert files_named(tmp_path / "run", ".tmp") == []


def test_atomic_text_writes_leave_no_temporary(tmp_path, monkeypatch):
    """gwrep.config.atomic_write_text (config.json of Config.save, sweep.json, eval.json) on a full disk."""
    from gwrep.config import atomic_write_text

    atomic_write_text(tmp_path / "a.json", "{}\n")
    _patched_open(monkeypatch, "gwrep.integrity", _FullDisk("a.json"))
    with pytest.raises(OSError, match=r"No space left on device: '.*a\.json'"):
        atomic_write_text(tmp_path / "a.json", '{"new": true}\n')
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"] and (tmp_path / "a.json").read_text() == "{}\n"
