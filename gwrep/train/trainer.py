"""One training loop for every model: :func:`train`.

The loop uses only the :class:`gwrep.models.base.Model` interface: ``training_step``
(the model runs its own updates, critics included, and returns named floats),
``validation_step``, ``optimizer_state``/``load_optimizer_state`` and ``save_model``.
Around it the trainer keeps the run folder (:mod:`gwrep.train.run`): metrics lines,
atomic checkpoints (last and best), early stopping on the validation loss, a time
budget, exact resumption, a non-finite-loss stop and a clean Ctrl-C (or SIGTERM).

A model that declares ``batches_per_step = k`` (FactorVAE: 2) gets ``k * batch_size``
images per step (``batch_size`` stays the size of one minibatch). When training ends
(completed, early stop, time budget) the trainer calls the model's ``on_train_end`` with
the training set's batches before the final save, on the final model and on the run's
best one (DAGMM fits its mixture there).

Exactness: the data order is a function of (seed, epoch) (:mod:`gwrep.train.sampler`),
validation runs under a forked and re-seeded torch RNG, and a checkpoint stores the
model, every optimizer, the Python/NumPy/torch RNG states and the data position, so an
interrupted and resumed run reaches the same weights as an uninterrupted one on CPU.

Safety of the run folder (what the README's failure-path section promises):

- one writer: the run holds :class:`gwrep.train.run.RunLock` on ``RUN/.lock`` from start
  to end; a second run on the same folder fails at once naming the holder's pid;
- every checkpoint and saved model carries a checksum that every load checks; resuming
  from a corrupt ``last.pt`` is refused with one line that offers ``best.pt``
  (``resume="best"``, ``gwrep train --resume RUN --from-best``);
- an ``OSError`` while writing (a full disk) stops the run with one line naming the
  file and the reason (:class:`RunWriteError`), leaves no temporary file and records
  ``status: failed`` in ``run.json`` when the disk still takes that;
- resuming refuses a checkpoint of another model and fewer planned steps than are done,
  before anything is written, and drops a torn last line of ``metrics.jsonl`` with a
  warning.

When stdout is not a terminal (a log file, nohup, a batch scheduler) the run prints one
plain progress line every ``log_every`` steps: step, planned steps, the logged losses,
elapsed time and the ETA or time budget left.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import random
import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset

from gwrep.config import format_bytes
from gwrep.integrity import atomic_write_bytes, available_memory, memory_error_text, naming_path, refuse_links_out
from gwrep.models.base import Model, NonFiniteLossError, build_model, save_model, state_mismatch
from gwrep.train.checkpoint import (CorruptCheckpointError, capture_rng_state, load_checkpoint, restore_rng_state,
                                    save_checkpoint)
from gwrep.train.config import TrainConfig, config_changes, read_config_file, resolve_device
from gwrep.train.run import (CHECKPOINT_DIR, CONFIG_FILE, FIGURES_DIR, METRICS_FILE, MODEL_DIR, SUMMARY_FILE, Run,
                             RunLock, load_run_model, read_metrics)
from gwrep.train.sampler import EpochBatchSampler, epoch_seed

__all__ = ["train", "as_config", "Callback", "RESUMABLE_FIELDS", "RESUME_FROM", "RunWriteError",
           "fold_small_last_batch", "check_model_fits", "ModelTooLargeError", "TRAINING_COPIES", "worker_error"]

#: ``callback(step, logs)``, called after every step (after its logging, validation and checkpoint).
Callback = Callable[[int, Mapping[str, float]], None]

#: Fields a resumed run may change; every other field must match the run's config.json.
RESUMABLE_FIELDS = frozenset({"steps", "epochs", "max_minutes", "patience", "eval_every", "log_every",
                              "checkpoint_every", "num_workers", "figures", "out", "device", "val_batches"})


def as_config(config: TrainConfig | Mapping[str, Any] | str | Path) -> TrainConfig:
    """A :class:`TrainConfig` from itself, a dict of options, or a .json/.yaml file."""
    if isinstance(config, TrainConfig):
        return config
    if isinstance(config, (str, Path)):
        return TrainConfig.from_dict(read_config_file(config))
    if isinstance(config, Mapping):
        return TrainConfig.from_dict(config)
    raise TypeError(f"config must be a TrainConfig, a dict or a config file path, got {type(config).__name__}")


#: What ``train(resume=...)`` accepts besides ``False``: ``True``/``"last"`` (``last.pt``) or ``"best"`` (``best.pt``).
RESUME_FROM = ("last", "best")


class RunWriteError(OSError):
    """Writing the run folder failed (a full disk, a lost mount...): one line naming the file and the reason.

    ``errno`` and ``filename`` are those of the underlying ``OSError``.
    """

    def __init__(self, message: str, errno: int | None = None, filename: str | None = None):
        super().__init__(errno, message)
        self.message, self.filename = message, filename

    def __str__(self) -> str:
        return self.message


@contextlib.contextmanager
def _writing() -> Iterator[None]:
    """Turn an ``OSError`` raised while writing the run folder into a :class:`RunWriteError` naming the file.

    Only the trainer's writes go through here, so a read error (a missing data file) keeps its own type.
    """
    try:
        yield
    except RunWriteError:
        raise
    except OSError as err:
        reason = err.strerror or str(err)
        where = err.filename if err.filename is not None else "the run folder"
        raise RunWriteError(f"cannot write {where}: {reason}", err.errno, err.filename) from None


def train(config: TrainConfig | Mapping[str, Any] | str | Path, *, dataset: Dataset | None = None,
          val_dataset: Dataset | None = None, resume: bool | str = False, callbacks: Iterable[Callback] = (),
          progress: bool | None = None) -> Run:
    """Train ``config.model`` on ``config.data`` and write the run folder ``config.out``.

    Args:
        config: a :class:`TrainConfig`, a dict of its options, or a .json/.yaml file.
        dataset: a training set to use instead of loading ``config.data`` (items
            ``(image, target)`` or images, float (C, H, W) in [0, 1]; uint8 and float64 are
            converted with a logged note, anything else refused: :mod:`gwrep.data.checks`).
        val_dataset: its validation set; without one, ``config.val_fraction`` of
            ``dataset`` is held out, or (for ``config.data``) its ``"val"`` split is used.
        resume: continue the run in ``config.out`` from ``checkpoints/last.pt`` (``True`` or
            ``"last"``), or from ``checkpoints/best.pt`` (``"best"``: the way back when last.pt
            is corrupt; the corrupt file is kept as ``last.pt.corrupt``).
        callbacks: functions ``(step, logs)`` called after each step.
        progress: ``True``: a tqdm bar; ``False``: nothing on the console; ``None`` (default):
            the bar when stderr is a terminal, and plain progress lines every ``log_every``
            steps when stdout is not one.

    Returns:
        The :class:`Run`; ``run.status`` says why it ended. An interrupted run (Ctrl-C)
        returns with status ``"interrupted"`` after saving a checkpoint; a second Ctrl-C
        that lands inside a step leaves that step incomplete, so it keeps the last
        checkpoint instead of saving a half-updated model.

    Raises:
        NonFiniteLossError: a loss became NaN/inf; the run folder keeps the last good
            checkpoint and ``run.json`` records the failure.
        RunWriteError: writing the run folder failed (a full disk); as above.
        gwrep.train.run.RunLockedError: another process is training in ``config.out``.
        CorruptCheckpointError: the checkpoint to resume from fails its checksum (the
            message says whether ``best.pt`` is a good one to resume from instead).
        ValueError: a resume that does not fit (another model, fewer steps than done).
    """
    if resume not in (False, True) + RESUME_FROM:
        raise ValueError(f"resume must be True, False, 'last' or 'best', got {resume!r}")
    resume_from = "last" if resume is True else resume or None
    from gwrep.data.checks import check_image_dataset  # dtype, range, shape of the user's data sets

    dataset = None if dataset is None else check_image_dataset(dataset, "dataset")
    val_dataset = None if val_dataset is None else check_image_dataset(val_dataset, "val_dataset")
    return _Trainer(as_config(config), dataset, val_dataset, resume_from, list(callbacks), progress).fit()


def _default_run_dir(config: TrainConfig) -> Path:
    base = Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S')}-{config.model}-{config.data}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def _images(batch: Any) -> torch.Tensor:
    """The image tensor of a collated batch (``(images, targets)`` or images)."""
    return batch[0] if isinstance(batch, (list, tuple)) else batch


def _image_shape(ds: Dataset) -> tuple[int, int, int]:
    for candidate in (ds, getattr(ds, "dataset", None)):
        shape = getattr(candidate, "image_shape", None)
        if shape is not None:
            return tuple(int(s) for s in shape)
    return tuple(int(s) for s in _images(ds[0]).shape)


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _clip_length(ds: Dataset) -> int | None:
    """T of a data set of clips (``clip_length`` of it or of the set it is a subset of), None for images."""
    for candidate in (ds, getattr(ds, "dataset", None)):
        length = getattr(candidate, "clip_length", None)
        if length is not None:
            return int(length)
    return None


def _data_derived_options(config_class: type, options: Mapping[str, Any], train_size: int,
                          clip_length: int | None = None) -> dict[str, Any]:
    """Model options that follow from the training data unless the user set them.

    ``dataset_size`` (beta-TCVAE's minibatch-weighted estimators, Chen et al. 2018, Eq. (S6))
    is the number of training images; ``frames`` (clip models) the data's clip length.
    """
    fields = getattr(config_class, "__dataclass_fields__", {})
    derived: dict[str, Any] = {}
    if "dataset_size" in fields and "dataset_size" not in options:
        derived["dataset_size"] = int(train_size)
    if "frames" in fields and clip_length is not None and "frames" not in options:
        derived["frames"] = clip_length
    return derived


def _check_clips_match(model: Model, name: str, clip_length: int | None) -> None:
    """ValueError when a clip model meets image data or an image model meets clips."""
    takes_clips = bool(getattr(model, "takes_clips", False))
    if takes_clips and clip_length is None:
        raise ValueError(f"model {name!r} takes clips (N, T, C, H, W); the data yields images: use a clip data set "
                         "(sprite-clips, lpc-sprites)")
    if not takes_clips and clip_length is not None:
        raise ValueError(f"model {name!r} takes images; the data yields clips of {clip_length} frames: use a clip "
                         "model (ds-vae, frame-vae)")
    if takes_clips and model.config.frames != clip_length:
        raise ValueError(f"model {name!r} has frames={model.config.frames} but the data's clips have {clip_length}")


def _absolute(data_root: str | None) -> str | None:
    """``data_root`` as an absolute path, so that ``gwrep eval``/``ood`` find the data from any folder."""
    return None if data_root is None else str(Path(data_root).expanduser().resolve())


def _data_root(config: TrainConfig) -> str | None:
    """The files folder of ``config.data``: DIR/<data> when that folder exists, else DIR (as gwrep eval/ood), absolute."""
    from gwrep.data import dataset_root

    if config.data_root is None:
        return None
    # A procedural set keeps the root it was given, so that its loader refuses it by name.
    return _absolute(dataset_root(config.data_root, config.data) or config.data_root)


_RAISED_LINE = re.compile(r"^([A-Za-z_][\w.]*): (.*)$")


def worker_error(err: BaseException) -> BaseException | None:
    """The error a data-loader worker raised, as its own one line; None when ``err`` is not from a worker.

    torch re-raises a worker's exception in the main process as the same type holding
    "Caught ValueError in DataLoader worker process 0." and the worker's whole traceback
    (18 lines for a 0-byte image). The worker's own message is the traceback's last
    ``Type: message`` line; it comes back as an exception of the same type (``RuntimeError``
    when that type cannot be built from a message).
    """
    text = err.args[0] if len(err.args) == 1 and isinstance(err.args[0], str) else str(err)  # KeyError quotes str()
    if not text.startswith("Caught ") or "DataLoader worker" not in text.split("\n", 1)[0]:
        return None
    lines = text.splitlines()
    for i in range(len(lines) - 1, 0, -1):
        found = _RAISED_LINE.match(lines[i])
        if found and found.group(1).rsplit(".", 1)[-1] == type(err).__name__:
            message = " ".join([found.group(2), *(line.strip() for line in lines[i + 1:])]).strip()
            break
    else:
        message = lines[0]
    if isinstance(err, KeyError):
        message = message.strip("'\"")
    try:
        return type(err)(message)
    except Exception:
        return RuntimeError(message)


#: Copies of a model's weights that training holds besides the weights themselves: their gradients, up to two
#: optimizer moments (Adam's), and the checkpoint serialised in memory before it is written.
TRAINING_COPIES = 4


def _meta_model(name: str, options: Mapping[str, Any]) -> Model:
    """The model built on torch's meta device: its shapes and sizes, with no memory allocated."""
    with torch.device("meta"):
        return build_model(name, **options)


def _model_bytes(model: Model) -> int:
    return sum(t.numel() * t.element_size() for t in (*model.parameters(), *model.buffers()))


def _model_size_text(name: str, options: Mapping[str, Any]) -> str:
    """"12,345 parameters (48.2 KiB), latent_dim 8" for the messages of a model too large to train."""
    shell = _meta_model(name, options)
    count = sum(p.numel() for p in shell.parameters())
    latent = f", latent_dim {options['latent_dim']}" if "latent_dim" in options else ""
    return f"{count:,} parameters, {format_bytes(_model_bytes(shell))}{latent}"


class ModelTooLargeError(ValueError):
    """The model's training state cannot fit the memory free on the device (checked before allocating it)."""


def check_model_fits(name: str, options: Mapping[str, Any], device: torch.device) -> None:
    """Refuse, before allocating anything, a model whose training state exceeds the free memory.

    The model is built on the meta device to size it; training holds the weights and
    :data:`TRAINING_COPIES` more copies (gradients, optimizer moments, the serialised
    checkpoint). Raises :class:`ModelTooLargeError` naming the parameter count, the bytes
    needed and the bytes free (``--latent-dim 1000000`` is refused in a second instead of
    failing with a raw ``MemoryError`` at the first checkpoint).
    """
    need = _model_bytes(_meta_model(name, options)) * (1 + TRAINING_COPIES)
    free = available_memory(device)
    if free is not None and need > free:
        raise ModelTooLargeError(
            f"model {name!r} ({_model_size_text(name, options)}) needs about {format_bytes(need)} to train (weights, "
            f"gradients, optimizer moments, the checkpoint), more than the {format_bytes(free)} free on {device}; "
            "make it smaller (latent_dim, image size)")


#: Signals that ask a run to stop after its current step and save (Ctrl-C, a scheduler's kill).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def fold_small_last_batch(batches: list[torch.Tensor], min_size: int = 2) -> list[torch.Tensor]:
    """``batches`` with a last batch of fewer than ``min_size`` images merged into the one before.

    Validation keeps every image, but a trailing batch of one image breaks estimators
    that need two codes (beta-TCVAE's total correlation, batch covariances); so 9 images
    in batches of 8 validate as one batch of 9. A lone batch is left as it is.
    """
    if len(batches) < 2 or len(batches[-1]) >= min_size:
        return batches
    return batches[:-2] + [torch.cat(batches[-2:])]


class _Trainer:
    """State and steps of one invocation of :func:`train` (private; use :func:`train`)."""

    def __init__(self, config: TrainConfig, dataset: Dataset | None, val_dataset: Dataset | None,
                 resume_from: str | None, callbacks: list[Callback], progress: bool | None):
        self.dir = Path(config.out) if config.out else _default_run_dir(config)
        config = config.replace(out=str(self.dir), data_root=_data_root(config))
        RunLock.check(self.dir)  # a run in progress there: say so (with its pid) before anything else
        self.lock = RunLock(self.dir)
        self.resume, self.resume_from = resume_from is not None, resume_from
        if self.resume:
            self._check_resumable(config)
        else:
            self._check_fresh()
        self.device = resolve_device(config.device)
        self.callbacks, self.progress = callbacks, progress
        self.bar_on = progress if progress is not None else _is_terminal(sys.stderr)
        self.lines_on = progress is None and not _is_terminal(sys.stdout)
        _seed_everything(config.seed)
        self.train_set, self.val_set = self._datasets(config, dataset, val_dataset)
        image_shape = _image_shape(self.train_set)
        model_config = config.model_config(image_shape)  # checks a given image_shape against the data
        self.config = config.replace(model_options={**config.model_options, "image_shape": list(image_shape)})
        clip_length = _clip_length(self.train_set)
        derived = _data_derived_options(type(model_config), config.model_options, len(self.train_set), clip_length)
        options = {**config.model_options, **derived, "image_shape": model_config.image_shape}
        check_model_fits(config.model, options, self.device)  # sized on the meta device: nothing allocated yet
        try:
            self.model: Model = build_model(config.model, **options)
        except (MemoryError, RuntimeError) as err:
            text = memory_error_text(err)
            if text is None:
                raise
            raise MemoryError(f"{text} while building model {config.model!r} "
                              f"({_model_size_text(config.model, options)})") from None
        _check_clips_match(self.model, config.model, clip_length)
        self.model.to(self.device)
        self.model.optimizers  # build them now, on the device
        per_step = self.model.batches_per_step
        self.step_batch = config.batch_size * per_step  # images one training step consumes
        if self.step_batch > len(self.train_set):  # before the run folder is written, so a retry can reuse it
            taken = f" x {per_step} batches per step ({config.model})" if per_step > 1 else ""
            raise ValueError(f"batch_size {config.batch_size}{taken} is larger than the data set "
                             f"({len(self.train_set)} items)")
        self.steps_per_epoch = len(self.train_set) // self.step_batch
        self.total_steps = config.planned_steps(self.steps_per_epoch)
        self.val_batches = self._validation_batches()
        self.state: dict[str, Any] = {"step": 0, "epoch": 0, "batch_in_epoch": 0, "best_val": None, "best_step": None,
                                      "bad_evals": 0, "last_eval_step": None, "log_sums": {}, "log_count": 0,
                                      "minutes": 0.0, "selection_term": self.model.selection_term}
        self.interrupt_requested = False
        #: The step under way (its update, bookkeeping, validation and checkpoint), else None.
        self.step_in_progress: int | None = None
        self.finishing = False  # the steps are done and saved; final validation, hooks, figures run
        self.saved_step: int | None = None  # the step last.pt holds (None: not written by this invocation)

    # ------------------------------------------------------------------ set-up
    def _check_fresh(self) -> None:
        if (self.dir / CONFIG_FILE).exists():
            raise ValueError(f"{self.dir} already holds a run; resume it (resume=True, --resume) or choose another out")

    def _check_resumable(self, config: TrainConfig) -> None:
        checkpoint = self.dir / CHECKPOINT_DIR / f"{self.resume_from}.pt"
        if not checkpoint.is_file():
            best = self.dir / CHECKPOINT_DIR / "best.pt"
            hint = f"; {best} is there: resume from it with --from-best" if best.is_file() else ""
            raise FileNotFoundError(f"cannot resume: {checkpoint} not found{hint}")
        saved = TrainConfig.load(self.dir / CONFIG_FILE)
        saved = saved.replace(data_root=_absolute(saved.data_root))  # runs written before data_root was absolute
        # By value, after parsing, with defaults filled in: an option given at its current value is no change.
        changed = config_changes(saved, config, ignore=RESUMABLE_FIELDS)
        if changed:
            details = ", ".join(f"{k}: {old!r} -> {new!r}" for k, old, new in changed)
            raise ValueError(f"cannot resume {self.dir} with a different {', '.join(k for k, _, _ in changed)} "
                             f"({details}); only {sorted(RESUMABLE_FIELDS)} may change")

    def _datasets(self, config: TrainConfig, dataset: Dataset | None,
                  val_dataset: Dataset | None) -> tuple[Dataset, Dataset | None]:
        """The training set and the validation set (``None``: no validation)."""
        loaded = dataset is None
        if loaded:
            import gwrep.data

            dataset = gwrep.data.load(config.data, root=config.data_root, split="train", **config.data_options)
        if val_dataset is not None or config.eval_every == 0:
            return dataset, val_dataset
        if config.val_fraction > 0:
            n = len(dataset)
            n_val = max(1, round(config.val_fraction * n))
            perm = torch.randperm(n, generator=torch.Generator().manual_seed(config.seed)).tolist()
            return Subset(dataset, perm[n_val:]), Subset(dataset, perm[:n_val])
        if loaded:
            import gwrep.data

            return dataset, gwrep.data.load(config.data, root=config.data_root, split="val", **config.data_options)
        return dataset, None

    def _validation_batches(self) -> list[torch.Tensor]:
        """The first ``val_batches`` validation batches, in a fixed order, kept in memory.

        A last batch of one image is folded into the one before (:func:`fold_small_last_batch`).
        """
        if self.val_set is None or self.config.eval_every == 0:
            return []
        # A seeded random subset: split files are often sorted by factor or class, so
        # their first rows would cover a sliver of the data.
        n = len(self.val_set)
        keep = torch.randperm(n, generator=torch.Generator().manual_seed(self.config.seed)).tolist()
        subset = Subset(self.val_set, keep[:self.config.val_batches * self.config.batch_size])
        batches = [_images(batch) for batch in DataLoader(subset, batch_size=self.config.batch_size, shuffle=False)]
        return fold_small_last_batch(batches)

    # ------------------------------------------------------------ checkpoints
    def _checkpoint_state(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "optimizers": self.model.optimizer_state(),
                "rng": capture_rng_state(), "trainer": dict(self.state, log_sums=dict(self.state["log_sums"])),
                "meta": {"model": self.config.model, "class": type(self.model).__name__}}

    def _save_checkpoint(self, name: str) -> Path:
        with _writing():
            path = save_checkpoint(self.dir / CHECKPOINT_DIR / f"{name}.pt", self._checkpoint_state())
        if name == "last":
            self.saved_step = self.state["step"]
        return path

    def _last_saved_step(self) -> int | str:
        """The step of last.pt: known when this invocation wrote it, else read from the file."""
        if self.saved_step is None:
            try:
                self.saved_step = load_checkpoint(self.dir / CHECKPOINT_DIR / "last.pt")["trainer"]["step"]
            except (OSError, ValueError) as err:  # for a message only: say what is wrong with it
                return f"unreadable: {err}"
        return self.saved_step

    def _load_resume_checkpoint(self) -> dict[str, Any]:
        """The checkpoint to resume from, verified; a corrupt one is refused with the way back (best.pt)."""
        path = self.dir / CHECKPOINT_DIR / f"{self.resume_from}.pt"
        try:
            return load_checkpoint(path, map_location=self.device)
        except CorruptCheckpointError as err:
            raise CorruptCheckpointError(f"cannot resume: {err}; {self._fallback_hint()}") from None

    def _fallback_hint(self) -> str:
        """Where to go from a corrupt last.pt: best.pt when it is there and passes its checksum."""
        best = self.dir / CHECKPOINT_DIR / "best.pt"
        if self.resume_from == "best":
            return "no other checkpoint to fall back on; start a new run"
        if not best.is_file():
            return f"there is no {best} to fall back on (the run never validated); start a new run"
        try:
            step = load_checkpoint(best)["trainer"]["step"]
        except (OSError, ValueError) as err:
            return f"{best} cannot be used either ({err}); start a new run"
        return (f"the last good checkpoint is {best} (step {step}, checksum verified): resume from it with "
                f"gwrep train --resume {self.dir} --from-best (Python: resume='best')")

    def _restore(self) -> None:
        """Load the checkpoint into the model, optimizers, RNGs and trainer state; refuse one that does not fit.

        Everything is checked before anything in the run folder changes.
        """
        ckpt = self._load_resume_checkpoint()
        path = self.dir / CHECKPOINT_DIR / f"{self.resume_from}.pt"
        saved_model = ckpt.get("meta", {}).get("model")
        if saved_model is not None and saved_model != self.config.model:
            raise ValueError(f"cannot resume: {path} is a checkpoint of model {saved_model!r}; this run "
                             f"({self.dir / CONFIG_FILE}) is model {self.config.model!r}")
        mismatch = state_mismatch(self.model, ckpt["model"])
        if mismatch:
            raise ValueError(f"cannot resume: {path} does not fit this run's {self.config.model} model: {mismatch}")
        done = int(ckpt["trainer"]["step"])
        if self.total_steps < done:
            raise ValueError(f"cannot resume {self.dir} with {self.total_steps} planned steps: {done} steps are "
                             f"already done; give --steps {done} or more (or leave the schedule as it was)")
        self.model.load_state_dict(ckpt["model"])
        try:
            self.model.load_optimizer_state(ckpt["optimizers"])
        except (KeyError, ValueError, RuntimeError) as err:
            raise ValueError(f"cannot resume: the optimizer states in {path} do not fit this run's "
                             f"{self.config.model} model: {err}") from None
        restore_rng_state(ckpt["rng"])
        self.state.update(ckpt["trainer"])
        saved_term = ckpt["trainer"].get("selection_term", "loss")  # checkpoints before selection_term chose on loss
        if saved_term != self.model.selection_term:  # a best value of another term cannot be compared: start over
            print(f"{self.dir.name}: the best model was chosen on validation {saved_term}; from here on it is "
                  f"chosen on {self.model.selection_term}", file=sys.stderr)
            self.state.update(selection_term=self.model.selection_term, best_val=None, best_step=None, bad_evals=0)
        self.saved_step = done if self.resume_from == "last" else None

    def _adopt_best_checkpoint(self) -> None:
        """After resuming from best.pt: keep the corrupt last.pt as last.pt.corrupt and make last.pt the state resumed."""
        last = self.dir / CHECKPOINT_DIR / "last.pt"
        if last.is_file():
            with _writing(), naming_path(last):
                os.replace(last, last.with_name("last.pt.corrupt"))
        self._save_checkpoint("last")

    def _truncate_metrics(self, step: int) -> None:
        """Drop metrics lines written after the checkpoint we resume from (and a torn last line, with a warning)."""
        path = self.dir / METRICS_FILE
        if path.is_file():
            kept = [json.dumps(r) for r in read_metrics(path) if r.get("step", 0) <= step]
            with _writing():
                atomic_write_bytes(path, "".join(line + "\n" for line in kept).encode())

    # ---------------------------------------------------------------- logging
    def _write_metrics(self, record: dict[str, Any]) -> None:
        path = self.dir / METRICS_FILE
        with _writing(), naming_path(path), open(path, "a") as f:
            f.write(json.dumps(record) + "\n")
        if self.tensorboard is not None:
            for key, value in record.items():
                if key not in ("step", "split", "epoch") and isinstance(value, (int, float)):
                    self.tensorboard.add_scalar(f"{record['split']}/{key}", value, record["step"])

    def _write_summary(self, status: str, message: str = "", step: int | None = None) -> dict[str, Any]:
        """Write run.json; ``step`` (default: the trainer's) is the step the run folder stands at."""
        summary = {"status": status, "step": self.state["step"] if step is None else step,
                   "planned_steps": self.total_steps,
                   "epoch": self.state["epoch"], "best_val_loss": self.state["best_val"],
                   "best_step": self.state["best_step"], "selection_term": self.model.selection_term,
                   "minutes": round(self.state["minutes"], 3),
                   "device": str(self.device), "message": message}
        with _writing():
            atomic_write_bytes(self.dir / SUMMARY_FILE, (json.dumps(summary, indent=2) + "\n").encode())
        return summary

    def _log_step(self, logs: Mapping[str, float], bar: Any) -> None:
        sums, state = self.state["log_sums"], self.state
        for key, value in logs.items():
            sums[key] = sums.get(key, 0.0) + float(value)
        state["log_count"] += 1
        if state["step"] % self.config.log_every:
            return
        means = {k: v / state["log_count"] for k, v in sums.items()}
        self._write_metrics({"step": state["step"], "split": "train", "epoch": state["epoch"], **means})
        state["log_sums"], state["log_count"] = {}, 0
        shown = {k: f"{v:.4g}" for k, v in list(means.items())[:4]}
        if self.state["best_val"] is not None:
            shown["best_val"] = f"{self.state['best_val']:.4g}"
        if self.config.time_budget_minutes is not None:  # the bar's ETA counts steps; show the budget too
            left = self.config.time_budget_minutes - (self.state["minutes"] - self.minutes_before)
            shown["budget_left"] = f"{max(left, 0.0):.1f}min"
        bar.set_postfix(shown, refresh=False)
        if self.lines_on:
            self._print_progress(means)

    def _print_progress(self, means: Mapping[str, float]) -> None:
        """One plain line (for logs): step, planned steps, the losses, elapsed, ETA or budget left; flushed."""
        state = self.state
        elapsed = time.monotonic() - self.started
        done_here = state["step"] - self.first_step
        parts = [f"step {state['step']}/{self.total_steps}",
                 " ".join(f"{k} {v:.4g}" for k, v in means.items())]
        if state["best_val"] is not None:
            parts.append(f"best val {state['best_val']:.4g} (step {state['best_step']})")
        timing = f"elapsed {_duration(elapsed)}"
        if done_here > 0:
            timing += f", ETA {_duration(elapsed / done_here * (self.total_steps - state['step']))}"
        budget = self.config.time_budget_minutes
        if budget is not None:
            timing += f", time budget left {_duration(max(budget * 60 - elapsed, 0.0))}"
        parts.append(timing)
        print(f"{self.dir.name}: " + " | ".join(parts), flush=True)

    # ------------------------------------------------------------- validation
    def _evaluate(self) -> bool:
        """Validate; save best.pt and RUN/model on a new best. Returns True to stop early."""
        state = self.state
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):  # validation must not move the training RNG
            torch.manual_seed(self.config.seed + 1)
            sums: dict[str, float] = {}
            for x in self.val_batches:
                for key, value in self.model.validation_step(x).items():
                    sums[key] = sums.get(key, 0.0) + float(value)
        means = {k: v / len(self.val_batches) for k, v in sums.items()}
        term = self.model.selection_term
        if term not in means:
            raise KeyError(f"{type(self.model).__name__}.selection_term is {term!r}, but its validation_step logs "
                           f"only {sorted(means)}")
        val_loss = means[term]
        state["last_eval_step"] = state["step"]
        improved = math.isfinite(val_loss) and (state["best_val"] is None or val_loss < state["best_val"])
        if improved:
            state["best_val"], state["best_step"], state["bad_evals"] = val_loss, state["step"], 0
        else:
            state["bad_evals"] += 1
        self._write_metrics({"step": state["step"], "split": "val", "epoch": state["epoch"], **means,
                             "best": improved})
        if self.lines_on:
            best = "new best" if improved else f"best {state['best_val']:.4g} at step {state['best_step']}"
            print(f"{self.dir.name}: step {state['step']} validation {term} {val_loss:.4g} ({best})", flush=True)
        if improved:
            self._save_checkpoint("best")
            self._save_model(self.model)
        if self.config.figures and not self.finishing:
            self._save_figures(self.model, state["step"])
        return self.config.patience > 0 and state["bad_evals"] >= self.config.patience

    def _save_model(self, model: Model) -> None:
        """RUN/model: the run's model (weights checksummed in model.json)."""
        with _writing():
            save_model(model, self.dir / MODEL_DIR)

    def _save_figures(self, model: Model, step: int) -> None:
        """RUN/figures for ``model`` at ``step`` (in the titles), under a forked RNG: training stays exact."""
        figures = self.dir / FIGURES_DIR
        x = self.val_batches[0] if self.val_batches else self._random_train_images(8)
        devices = [self.device] if self.device.type == "cuda" else []
        with _writing(), torch.random.fork_rng(devices=devices), naming_path(figures):
            if getattr(model, "takes_clips", False):  # clips: the sequence figures (swap, traversal of f)
                from gwrep.eval.sequence import save_sequence_figures

                save_sequence_figures(model, x[:8], self.dir / METRICS_FILE, figures, seed=self.config.seed)
            else:
                from gwrep.eval.figures import save_run_figures

                save_run_figures(model, x[:8], self.dir / METRICS_FILE, figures, seed=self.config.seed, step=step)

    # ------------------------------------------------------------------- loop
    def _request_interrupt(self, signum: int, frame: Any) -> None:
        if self.interrupt_requested:  # second Ctrl-C: stop at once
            raise KeyboardInterrupt
        self.interrupt_requested = True

    def _stop_if_interrupted(self) -> None:
        """Raise KeyboardInterrupt if a stop signal came in (checked between steps and finishing phases)."""
        if self.interrupt_requested:
            raise KeyboardInterrupt

    def _train_steps(self, bar: Any, started: float) -> str:
        """Run steps until done; returns the stop reason."""
        cfg, state = self.config, self.state
        budget = cfg.time_budget_minutes
        while state["step"] < self.total_steps:
            sampler = EpochBatchSampler(len(self.train_set), self.step_batch, cfg.seed, state["epoch"],
                                        start_batch=state["batch_in_epoch"])
            loader = DataLoader(self.train_set, batch_sampler=sampler, num_workers=cfg.num_workers,
                                pin_memory=self.device.type == "cuda",
                                generator=torch.Generator().manual_seed(epoch_seed(cfg.seed + 1, state["epoch"])))
            for batch in loader:
                self.step_in_progress = state["step"] + 1  # until its checkpoint: an interrupt must not save
                logs = self.model.training_step(_images(batch))
                bad = [k for k, v in logs.items() if not math.isfinite(float(v))]
                if bad:
                    raise NonFiniteLossError(f"non-finite {bad} at step {state['step']}: {logs}")
                state["step"] += 1
                state["batch_in_epoch"] += 1
                if state["batch_in_epoch"] == self.steps_per_epoch:
                    state["epoch"], state["batch_in_epoch"] = state["epoch"] + 1, 0
                state["minutes"] = self.minutes_before + (time.monotonic() - started) / 60
                self._log_step(logs, bar)
                stop = None
                if self.val_batches and state["step"] % cfg.eval_every == 0 and self._evaluate():
                    stop = "early_stopped"
                if state["step"] % cfg.checkpoint_every == 0:
                    self._save_checkpoint("last")
                self.step_in_progress = None
                for callback in self.callbacks:
                    callback(state["step"], logs)
                bar.update(1)
                self._stop_if_interrupted()
                if budget is not None and (time.monotonic() - started) / 60 >= budget:
                    stop = stop or "time_budget"
                if stop is not None:
                    return stop
                if state["step"] >= self.total_steps:
                    break
        return "completed"

    def fit(self) -> Run:
        """Lock the run folder, train, release: a second writer fails at once (:class:`RunLock`)."""
        self.lock.acquire()
        try:
            return self._fit()
        finally:
            self.lock.release()

    def _remove_stale_temporaries(self) -> None:
        """Delete ``*.tmp`` files a killed process left mid-save (we hold the lock: nobody else writes here)."""
        for folder in (self.dir, self.dir / CHECKPOINT_DIR, self.dir / MODEL_DIR):
            for tmp in folder.glob("*.tmp") if folder.is_dir() else ():
                with _writing():
                    tmp.unlink(missing_ok=True)

    def _start(self) -> None:
        """Write the run folder's starting files (after every resume check passed)."""
        self._remove_stale_temporaries()
        with _writing():
            atomic_write_bytes(self.dir / CONFIG_FILE, (self.config.to_json() + "\n").encode())
        if self.resume:
            self._truncate_metrics(self.state["step"])
            if self.resume_from == "best":
                self._adopt_best_checkpoint()
        else:
            atomic_write_bytes(self.dir / METRICS_FILE, b"")
            self._save_checkpoint("last")  # step 0: there is always a good checkpoint to go back to
        self._write_summary("running")

    def _write_failed(self, err: RunWriteError) -> RunWriteError:
        """The one-line error of a failed write, with the checkpoint kept; recorded in run.json when the disk allows."""
        message = err.message
        last = self.dir / CHECKPOINT_DIR / "last.pt"
        if last.is_file():
            message += f"; training stopped, the last good checkpoint is {last} (step {self._last_saved_step()})"
        try:
            self._write_summary("failed", message)
        except OSError as again:
            message += f"; run.json could not record the failure either ({again.strerror or again})"
        return RunWriteError(message, err.errno, err.filename)

    def _out_of_memory(self, err: BaseException, text: str) -> MemoryError:
        """The one-line error of an allocation that failed in the run (the size asked for, the model's size),
        recorded in run.json when it can be written."""
        message = (f"{text} at step {self.state['step']} (model {self.config.model}: "
                   f"{sum(p.numel() for p in self.model.parameters()):,} parameters, "
                   f"{format_bytes(_model_bytes(self.model))}; batch_size {self.config.batch_size})")
        if (self.dir / CHECKPOINT_DIR / "last.pt").is_file():
            message += f"; the last good checkpoint is {self.dir / CHECKPOINT_DIR / 'last.pt'}"
        try:
            self._write_summary("failed", message)
        except (OSError, MemoryError) as again:
            message += f"; run.json could not record the failure either ({again})"
        return MemoryError(message)

    def _fit(self) -> Run:
        # Nothing in the run folder may lead out of it (a copied folder's checkpoints/ linked to another run's).
        refuse_links_out(self.dir, "run folder")
        if not self.resume:
            self._check_fresh()  # again, under the lock: another process may have started here meanwhile
        else:
            self._restore()  # refuses a corrupt or unfit checkpoint before anything is written
        self.minutes_before = self.state["minutes"]
        try:
            self._start()
            with _writing():
                self.tensorboard = _tensorboard_writer(self.dir)
        except RunWriteError as err:
            raise self._write_failed(err) from None
        except (MemoryError, RuntimeError) as err:  # the first checkpoint of a model too large for the memory
            text = memory_error_text(err)
            if text is None:
                raise
            raise self._out_of_memory(err, text) from None
        handler_installed = threading.current_thread() is threading.main_thread()
        # Ctrl-C and a scheduler's SIGTERM both finish the current step, save and exit cleanly.
        previous = ({sig: signal.signal(sig, self._request_interrupt) for sig in STOP_SIGNALS}
                    if handler_installed else {})
        started = time.monotonic()
        self.started, self.first_step = started, self.state["step"]
        from tqdm import tqdm

        bar = tqdm(total=self.total_steps, initial=self.state["step"], desc=self.dir.name, dynamic_ncols=True,
                   disable=not self.bar_on)
        try:
            status = self._train_steps(bar, started)
            # The steps are done: keep them whatever happens while finishing (an interrupt or
            # a crash in the final validation, the end-of-training hook or the figures).
            if self.saved_step != self.state["step"]:
                self._save_checkpoint("last")
            self.finishing = True
            return self._finish(status)
        except KeyboardInterrupt:
            try:
                summary = self._interrupted(bar)
            except RunWriteError as err:  # the disk filled up under the interrupt's own save
                raise self._write_failed(err) from None
            return Run(self.dir, self.config, summary)
        except NonFiniteLossError as err:
            good = self._last_saved_step()
            message = (f"{err} Training stopped; the last good checkpoint is "
                       f"{self.dir / CHECKPOINT_DIR / 'last.pt'} (step {good}).")
            self._write_summary("failed", message)
            raise NonFiniteLossError(message) from None
        except RunWriteError as err:
            raise self._write_failed(err) from None
        except Exception as err:
            text = memory_error_text(err)
            if text is not None:
                raise self._out_of_memory(err, text) from None
            worker = worker_error(err)
            if worker is not None:  # a data-loader worker's error: its own one line, not torch's wrapped traceback
                self._write_summary("failed", f"{type(worker).__name__}: {worker}")
                raise worker from None
            self._write_summary("failed", f"{type(err).__name__}: {err}")
            raise
        finally:
            bar.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if self.tensorboard is not None:
                self.tensorboard.close()

    def _interrupted(self, bar: Any) -> dict[str, Any]:
        """Save last.pt after a clean stop; keep it as it is when a step was cut in half."""
        last = self.dir / CHECKPOINT_DIR / "last.pt"
        resume = f"continue with: gwrep train --resume {self.dir}"
        if self.finishing:  # last.pt already holds the final step; resuming only finishes the run
            message = (f"interrupted after the last step ({self.state['step']}) while finishing the run (final "
                       f"validation, end-of-training hook, figures); checkpoint {last} is kept; "
                       f"finish with: gwrep train --resume {self.dir}")
            bar.write(message)
            return self._write_summary("interrupted", message)
        if self.step_in_progress is None:
            self._save_checkpoint("last")
            message = f"interrupted at step {self.state['step']}; checkpoint saved to {last}; {resume}"
            bar.write(message)
            return self._write_summary("interrupted", message)
        # A second Ctrl-C inside a step may land between two players' updates: the model
        # is half-updated while the trainer's step is still the previous one. Saving it
        # would make resumption inexact and lose the good checkpoint.
        kept = self._last_saved_step()
        message = (f"interrupted inside step {self.step_in_progress}, which was left incomplete; not saved, "
                   f"{last} (step {kept}) is kept; {resume}")
        bar.write(message)
        return self._write_summary("interrupted", message, step=kept)

    def _train_batches(self, limit: int | None = None) -> Iterator[torch.Tensor]:
        """The training set's images in batches of ``batch_size`` (for ``on_train_end``): all of them in
        order, or ``limit`` of them drawn without replacement with the run's seed (in index order)."""
        data: Dataset = self.train_set
        if limit is not None and limit < len(data):
            pick = torch.randperm(len(data), generator=torch.Generator().manual_seed(self.config.seed))[:limit]
            data = Subset(data, sorted(pick.tolist()))
        loader = DataLoader(data, batch_size=self.config.batch_size, shuffle=False,
                            num_workers=self.config.num_workers,
                            generator=torch.Generator().manual_seed(self.config.seed))
        from tqdm import tqdm

        for batch in tqdm(loader, desc=f"{self.dir.name}: end of training", leave=False, disable=not self.bar_on):
            yield _images(batch)

    def _end_training(self, model: Model) -> bool:
        """``model.on_train_end`` over the training set, under a forked RNG (the run's RNG state stays).

        Returns whether the model has a hook (the base class's does nothing: no pass over the data).
        """
        if type(model).on_train_end is Model.on_train_end:
            return False
        devices = [self.device] if self.device.type == "cuda" else []
        limit = model.train_end_images()
        n = len(self.train_set) if limit is None else min(limit, len(self.train_set))
        started = time.monotonic()
        if self.progress is not False:
            print(f"{self.dir.name}: end of training ({type(model).__name__}) over {n} of "
                  f"{len(self.train_set)} training images", flush=True)
        with torch.random.fork_rng(devices=devices):
            model.on_train_end(self._train_batches(limit))
        if self.progress is not False:
            print(f"{self.dir.name}: end of training done in {time.monotonic() - started:.1f} s", flush=True)
        return True

    def _finish(self, status: str) -> Run:
        """Validate the final step if not done, then end the training of the run's model and save it.

        last.pt keeps the training state (the trainer's, with that validation): the
        ``on_train_end`` hook (DAGMM's mixture fit) changes only the run's model in
        ``model/``, so a run resumed after a time-budget stop continues exactly.
        """
        state = self.state
        if status != "early_stopped" and self.val_batches and state["last_eval_step"] != state["step"]:
            self._evaluate()  # the run's reported model is always a validated one
            self._save_checkpoint("last")
        self._stop_if_interrupted()
        if state["best_step"] in (None, state["step"]):  # the run's model is the final one
            if self._end_training(self.model) or state["best_step"] is None:
                self._save_model(self.model)
            best = load_run_model(self.dir, map_location=self.device)
        else:  # the best model was saved when it was validated: it ends its training too
            best = load_run_model(self.dir, map_location=self.device)
            if self._end_training(best):
                self._save_model(best)
        self._stop_if_interrupted()
        if self.config.figures:
            self._save_figures(best, state["step"] if state["best_step"] is None else state["best_step"])
        message = self._end_message(status)
        summary = self._write_summary(status, message)
        return Run(self.dir, self.config, summary, model=best)

    def _random_train_images(self, n: int) -> torch.Tensor:
        """``n`` training images at seeded random places, for the figures of a run without validation."""
        pick = torch.randperm(len(self.train_set), generator=torch.Generator().manual_seed(self.config.seed))[:n]
        return _images(next(iter(DataLoader(Subset(self.train_set, pick.tolist()), batch_size=n))))

    def _end_message(self, status: str) -> str:
        state = self.state
        if status == "early_stopped":
            return (f"early stop at step {state['step']}: no better validation {self.model.selection_term} in "
                    f"{self.config.patience} "
                    f"evaluations (best {state['best_val']:.6g} at step {state['best_step']})")
        budget = self.config.time_budget_minutes
        if status == "time_budget":
            return (f"stopped by the time budget ({budget} min) at step {state['step']} of {self.total_steps} "
                    f"planned steps; continue with: gwrep train --resume {self.dir}")
        within = f", within the time budget of {budget} min" if budget is not None else ""
        return f"completed the {state['step']} planned steps{within}"


def _is_terminal(stream: Any) -> bool:
    """Whether ``stream`` is an interactive terminal (False for files, pipes and closed streams)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _duration(seconds: float) -> str:
    """``seconds`` as ``1h02m``, ``3m05s`` or ``42s``.

    >>> _duration(42.4), _duration(185), _duration(3720)
    ('42s', '3m05s', '1h02m')
    """
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def _tensorboard_writer(run_dir: Path):
    """A TensorBoard SummaryWriter in RUN/tensorboard when TensorBoard is installed, else None."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(run_dir / "tensorboard"))
