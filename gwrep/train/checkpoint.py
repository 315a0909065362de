"""Training checkpoints: atomic writes, ``weights_only`` loading, and RNG states as tensors.

A checkpoint is a plain dictionary of tensors, numbers, strings and lists (no pickled
objects, so ``torch.load(..., weights_only=True)`` reads it):

``{"format": 1, "model": state_dict, "optimizers": {name: state_dict},
"rng": capture_rng_state(), "trainer": {step, epoch, batch_in_epoch, ...},
"sha256": state_digest(everything else)}``.

Restoring the model, every optimizer, the Python/NumPy/torch random states and the
data position makes a resumed run bit-identical to an uninterrupted one on CPU.

Integrity: the checksum (:func:`gwrep.integrity.state_digest` of the rest of the
dictionary) is written with every checkpoint and checked on every load; a file whose
contents do not match it, or that torch cannot read at all, raises
:class:`CorruptCheckpointError`. A checkpoint written before checksums existed (no
``"sha256"`` key) loads with a :class:`UserWarning` saying it is unverified.
"""
from __future__ import annotations

import io
import os
import random
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gwrep.config import load_torch_file
from gwrep.integrity import atomic_write_bytes, naming_path, state_digest

__all__ = ["CHECKPOINT_FORMAT", "CHECKSUM_KEY", "CorruptCheckpointError", "save_checkpoint", "load_checkpoint",
           "capture_rng_state", "restore_rng_state"]

CHECKPOINT_FORMAT = 1
#: The key of a checkpoint's checksum (the SHA-256 of all its other entries).
CHECKSUM_KEY = "sha256"


class CorruptCheckpointError(ValueError):
    """A checkpoint whose contents do not match its checksum, or that torch cannot read."""


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write ``state`` and its checksum to ``path`` atomically (:func:`gwrep.integrity.atomic_write_bytes`).

    On a failure (a full disk) no temporary file is left and the ``OSError`` names ``path``.
    """
    path = Path(path)
    with naming_path(path):
        path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": CHECKPOINT_FORMAT, **state}
    payload[CHECKSUM_KEY] = state_digest(payload)
    buffer = io.BytesIO()  # serialised in memory, so a full disk is a Python OSError naming the file
    torch.save(payload, buffer)
    return atomic_write_bytes(path, buffer.getbuffer())


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only=True``) and check its checksum.

    Raises:
        FileNotFoundError: no file at ``path``.
        CorruptCheckpointError: unreadable, or its contents differ from its checksum.
        ValueError: a readable torch file that is not a gwrep checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        state = load_torch_file(path, map_location=map_location)
    except Exception as err:  # torch's reader fails in many ways on damaged bytes (zip, pickle, unicode)
        text = str(err)
        if str(path) not in text:
            text = f"{path} is not a readable torch file (corrupt or truncated): {type(err).__name__}: {text}"
        raise CorruptCheckpointError(text) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a gwrep checkpoint of format {CHECKPOINT_FORMAT}")
    saved = state.pop(CHECKSUM_KEY, None)
    if saved is None:
        warnings.warn(f"{path} has no checksum (written before gwrep checked checkpoints): loaded unverified",
                      UserWarning, stacklevel=2)
    elif state_digest(state) != saved:
        raise CorruptCheckpointError(f"{path} is corrupt: its contents do not match the checksum saved with it")
    return state


def capture_rng_state() -> dict[str, Any]:
    """The Python, NumPy (global) and torch (CPU and CUDA) random states, as tensors and lists."""
    version, internal, gauss_next = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": {"version": version, "internal": list(internal), "gauss_next": gauss_next},
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Set the random states captured by :func:`capture_rng_state`."""
    py = state["python"]
    random.setstate((py["version"], tuple(py["internal"]), py["gauss_next"]))
    nps = state["numpy"]
    np.random.set_state((nps["kind"], nps["keys"].numpy().astype(np.uint32), nps["pos"], nps["has_gauss"],
                         nps["cached_gaussian"]))
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
