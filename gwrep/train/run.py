"""The run folder: its layout, the :class:`Run` handle, and loading a trained model back.

Layout (shared with ``gwrep eval``/``ood``/``compare``)::

    RUN/config.json            the resolved TrainConfig
    RUN/run.json               status, step, best validation loss, minutes
    RUN/model/                 the best (or final) model: model.json + weights.pt
    RUN/checkpoints/last.pt    full training state, for --resume
    RUN/checkpoints/best.pt    full training state at the best validation loss
    RUN/metrics.jsonl          one JSON object per log line: step, split, losses
    RUN/figures/*.png          reconstructions, samples, traversals, loss curves
    RUN/.lock                  held (flock) by the one process training in RUN; holds its pid

One writer per run folder: :class:`RunLock` takes an exclusive ``fcntl.flock`` on
``RUN/.lock`` for as long as a training process works in ``RUN``. The operating system
drops the lock when that process ends however it ends (``kill -9`` included), so a
crashed run never leaves the folder locked; the file itself stays. The lock file is
opened without following links (``O_NOFOLLOW``): a ``.lock`` that is a symbolic link (a
copied or received folder) is refused, never written through.
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

from gwrep.config import read_json_file
from gwrep.integrity import LinkOutError
from gwrep.train.config import TrainConfig

__all__ = ["Run", "load_run", "load_run_model", "read_metrics", "RunLock", "RunLockedError", "CONFIG_FILE",
           "SUMMARY_FILE", "MODEL_DIR", "CHECKPOINT_DIR", "METRICS_FILE", "FIGURES_DIR", "LOCK_FILE"]

CONFIG_FILE = "config.json"
SUMMARY_FILE = "run.json"
MODEL_DIR = "model"
CHECKPOINT_DIR = "checkpoints"
METRICS_FILE = "metrics.jsonl"
FIGURES_DIR = "figures"
LOCK_FILE = ".lock"


def read_metrics(path: str | os.PathLike, split: str | None = None) -> list[dict[str, Any]]:
    """The records of a ``metrics.jsonl`` file, optionally only those of one ``split``.

    A torn last line (no final newline and not valid JSON: a crash or a full disk cut
    its write short) is dropped with a warning; any other line that is not JSON is a
    ``ValueError`` naming the file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"metrics file not found: {path}")
    text = path.read_text()
    lines = text.splitlines()
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            if number == len(lines) and not text.endswith("\n"):
                warnings.warn(f"{path}:{number}: dropped a torn last line (an interrupted write): {line[:60]!r}",
                              UserWarning, stacklevel=2)
                break
            raise ValueError(f"{path}:{number} is not valid JSON: {err}") from None
        if split is None or record.get("split") == split:
            records.append(record)
    return records


class Run:
    """A run folder: ``.dir``, ``.config`` (:class:`TrainConfig`), ``.model`` (loaded on first use).

    ``.status`` is one of ``"completed"``, ``"early_stopped"``, ``"time_budget"``,
    ``"interrupted"``, ``"failed"`` or ``"running"``; ``.summary`` holds ``run.json``.
    """

    def __init__(self, directory: str | os.PathLike, config: TrainConfig, summary: dict[str, Any] | None = None,
                 model: Any = None):
        self.dir = Path(directory)
        self.config = config
        self.summary = dict(summary or {})
        self._model = model

    @property
    def status(self) -> str:
        return self.summary.get("status", "running")

    @property
    def step(self) -> int:
        return int(self.summary.get("step", 0))

    @property
    def model(self):
        """The run's best (or final) model, from ``RUN/model``."""
        if self._model is None:
            self._model = load_run_model(self.dir)
        return self._model

    def metrics(self, split: str | None = None) -> list[dict[str, Any]]:
        """The records of ``RUN/metrics.jsonl`` (optionally one split: ``"train"`` or ``"val"``)."""
        return read_metrics(self.dir / METRICS_FILE, split)

    def __repr__(self) -> str:
        return f"Run({str(self.dir)!r}, model={self.config.model!r}, status={self.status!r}, step={self.step})"


def load_run(run_dir: str | os.PathLike) -> Run:
    """Open a run folder written by :func:`gwrep.train.train` (the model loads lazily)."""
    run_dir = Path(run_dir)
    config_path = run_dir / CONFIG_FILE
    if not config_path.is_file():
        raise FileNotFoundError(f"no {CONFIG_FILE} in {run_dir}: not a gwrep run folder")
    config = TrainConfig.load(config_path)
    summary_path = run_dir / SUMMARY_FILE
    summary = read_json_file(summary_path) if summary_path.is_file() else {}
    if not isinstance(summary, dict):
        raise ValueError(f"{summary_path} must hold a JSON object, got {type(summary).__name__}")
    return Run(run_dir, config, summary)


def load_run_model(run_dir: str | os.PathLike, map_location: str = "cpu"):
    """The model of a run folder (``RUN/model``), or of a saved model folder itself."""
    from gwrep.models.base import CONFIG_FILE as MODEL_CONFIG_FILE
    from gwrep.models.base import load_model

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run folder not found: {run_dir}")
    if (run_dir / MODEL_DIR / MODEL_CONFIG_FILE).is_file():
        return load_model(run_dir / MODEL_DIR, map_location=map_location)
    if (run_dir / MODEL_CONFIG_FILE).is_file():
        return load_model(run_dir, map_location=map_location)
    raise FileNotFoundError(
        f"{run_dir} holds no model ({MODEL_DIR}/{MODEL_CONFIG_FILE} or {MODEL_CONFIG_FILE}); "
        "has its training written one yet?")


class RunLockedError(RuntimeError):
    """Another process holds the run folder's lock (it is training there now)."""


class RunLock:
    """The exclusive, non-blocking ``flock`` on ``RUN/.lock`` that makes one process the folder's only writer.

    ``acquire`` raises :class:`RunLockedError` naming the folder and the holder's pid; the
    lock ends with ``release``, with the ``with`` block, or with the process.
    """

    def __init__(self, run_dir: str | os.PathLike):
        self.dir = Path(run_dir)
        self.path = self.dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> "RunLock":
        import fcntl

        if self._fd is not None:
            return self
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.path.is_symlink():
            raise LinkOutError(f"{self.path} is a symbolic link (to {os.readlink(self.path)}); gwrep writes its pid "
                               "there and does not write through links: delete it (it holds no data)")
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RunLockedError(f"{self.dir} is in use by another gwrep training process (pid {holder}); "
                                 "wait for it to end or choose another --out") from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        import fcntl

        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()

    @staticmethod
    def check(run_dir: str | os.PathLike) -> None:
        """Raise :class:`RunLockedError` if a process holds ``run_dir``'s lock now (writes nothing else)."""
        path = Path(run_dir) / LOCK_FILE
        if path.is_file() or path.is_symlink():
            RunLock(run_dir).acquire().release()
