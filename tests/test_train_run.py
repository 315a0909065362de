"""Tests for gwrep/train/run.py: opening run folders and reading metrics."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from gwrep.train.run import RunLock, RunLockedError, load_run, load_run_model, read_metrics


def test_read_metrics_filters_by_split(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "split": "train", "loss": 2.0}\n\n{"step": 1, "split": "val", "loss": 3.0}\n')
    assert [r["loss"] for r in read_metrics(path)] == [2.0, 3.0]
    assert read_metrics(path, "val") == [{"step": 1, "split": "val", "loss": 3.0}]
    path.write_text('{"step": 1}\n{oops\n')  # a complete bad line is damage, not a cut-short write
    with pytest.raises(ValueError, match=r"metrics.jsonl:2"):
        read_metrics(path)


def test_torn_last_metrics_line_is_dropped_with_a_warning(tmp_path):
    """A crash mid-write leaves a last line with no newline: dropped with a warning, not an error."""
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "split": "train", "loss": 2.0}\n{"step": 2, "split": "tr')
    with pytest.warns(UserWarning, match=r"metrics.jsonl:2: dropped a torn last line"):
        assert read_metrics(path) == [{"step": 1, "split": "train", "loss": 2.0}]
    path.write_text('{"step": 1}\n{oops\n{"step": 3}')  # only the last line may be torn
    with pytest.raises(ValueError, match=r"metrics.jsonl:2"):
        read_metrics(path)


def test_missing_things_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a gwrep run folder"):
        load_run(tmp_path)
    with pytest.raises(FileNotFoundError, match="holds no model"):
        load_run_model(tmp_path)
    with pytest.raises(FileNotFoundError, match="run folder not found"):
        load_run_model(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="metrics file not found"):
        read_metrics(tmp_path / "metrics.jsonl")


def test_corrupt_run_files_are_named(tmp_path):
    """A damaged run.json, model.json or weights.pt is a ValueError naming the file, not a torch/json traceback."""
    import torch

    from gwrep.models.base import build_model, save_model
    from gwrep.train import TrainConfig

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    TrainConfig(model="vae", steps=1).save(run_dir / "config.json")
    save_model(build_model("vae", image_shape=(1, 28, 28), latent_dim=3), run_dir / "model")
    assert load_run_model(run_dir).config.latent_dim == 3
    weights = run_dir / "model" / "weights.pt"
    good = weights.read_bytes()
    weights.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match="weights.pt is not a readable torch file"):
        load_run_model(run_dir)
    torch.save({"other.weight": torch.zeros(1)}, weights)
    with pytest.raises(ValueError, match="weights.pt is corrupt: its contents do not match the checksum in .*model.json"):
        load_run_model(run_dir)
    meta = json.loads((run_dir / "model" / "model.json").read_text())
    del meta["weights_sha256"]  # a model saved before checksums: loads unverified, with a warning
    (run_dir / "model" / "model.json").write_text(json.dumps(meta))
    with pytest.warns(UserWarning, match="no weights checksum"), \
            pytest.raises(ValueError, match=r"weights.pt does not fit the vae model .*: \d+ tensors missing: "):
        load_run_model(run_dir)
    (run_dir / "model" / "model.json").write_text("{oops")
    with pytest.raises(ValueError, match="model.json is not valid JSON"):
        load_run_model(run_dir)
    (run_dir / "run.json").write_text("[]")
    with pytest.raises(ValueError, match="run.json must hold a JSON object"):
        load_run(run_dir)


def test_model_weights_checksum_catches_flipped_bytes(tmp_path):
    """4 kB of flipped bytes inside weights.pt: refused by name (torch itself loads such a file silently)."""
    from gwrep.models.base import build_model, save_model

    save_model(build_model("vae", image_shape=(1, 28, 28), latent_dim=3), tmp_path / "m")
    weights = tmp_path / "m" / "weights.pt"
    data = bytearray(weights.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 4096] = bytes(b ^ 0xFF for b in data[middle:middle + 4096])
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"weights.pt is (corrupt|not a readable torch file)"):
        load_run_model(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["model.json", "weights.pt"]  # no .tmp


def test_run_lock_is_exclusive_and_names_the_holder(tmp_path):
    with RunLock(tmp_path / "run") as lock:
        assert lock.held and (tmp_path / "run" / ".lock").read_text().strip() == str(os.getpid())
        with pytest.raises(RunLockedError, match=rf"{tmp_path / 'run'} is in use .*\(pid {os.getpid()}\)"):
            RunLock(tmp_path / "run").acquire()
        with pytest.raises(RunLockedError):
            RunLock.check(tmp_path / "run")
    RunLock.check(tmp_path / "run")  # released
    RunLock(tmp_path / "run").acquire().release()


def test_run_lock_of_a_killed_process_is_free(tmp_path):
    """kill -9 of the holder frees the folder: the OS drops a flock with its process."""
    code = ("import sys, time; from gwrep.train.run import RunLock; RunLock(sys.argv[1]).acquire(); "
            "print('locked', flush=True); time.sleep(120)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "run")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunLockedError, match=rf"pid {holder.pid}"):
            RunLock(tmp_path / "run").acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    deadline = time.monotonic() + 10
    while True:
        try:
            RunLock(tmp_path / "run").acquire().release()
            break
        except RunLockedError:
            assert time.monotonic() < deadline, "the lock outlived its killed holder"
            time.sleep(0.1)
