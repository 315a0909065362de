"""Files that are whole or absent, and content checksums of saved states.

- :func:`atomic_write_bytes`: temporary file, ``fsync``, atomic rename. On any failure
  (a full disk, Ctrl-C) the temporary is removed and an ``OSError`` names the target
  path, which a failing ``write()`` itself does not.
- :func:`state_digest`: the SHA-256 of a nested state (the dict a checkpoint or a
  ``state_dict`` holds). Each tensor contributes its dtype, shape and bytes, every other
  leaf its type and value, dicts in sorted key order; so the digest is the same before
  saving and after loading (on any device), and one changed weight, optimizer moment or
  random-state word changes it. Checkpoints (:mod:`gwrep.train.checkpoint`) and saved
  models (:func:`gwrep.models.base.save_model`) store it and check it on load.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import struct
from pathlib import Path
from typing import Any, Iterator

import torch

__all__ = ["atomic_write_bytes", "state_digest", "naming_path"]


@contextlib.contextmanager
def naming_path(path: str | os.PathLike) -> Iterator[None]:
    """Re-raise an ``OSError`` that names no file as one naming ``path`` (same errno and text)."""
    try:
        yield
    except OSError as err:
        if err.filename is not None or err.errno is None:
            raise
        raise OSError(err.errno, err.strerror or str(err), str(path)) from None


def atomic_write_bytes(path: str | os.PathLike, data: bytes | bytearray | memoryview) -> Path:
    """Write ``data`` to ``path`` through ``path.tmp``, ``fsync`` and ``os.replace``.

    Either the old file or the complete new one is at ``path`` afterwards, and no
    ``.tmp`` file is left behind, whatever fails; an ``OSError`` names ``path``.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with naming_path(path):
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
    return path


def _length(n: int) -> bytes:
    return struct.pack("<Q", n)


def _update(h: Any, value: Any, where: str) -> None:
    """Feed the canonical encoding of ``value`` to the hash ``h`` (``where``: its key path, for errors)."""
    if isinstance(value, torch.Tensor):
        t = value.detach()
        if t.layout != torch.strided or t.is_quantized:
            raise TypeError(f"state_digest: {where} is a {t.layout} tensor; only dense tensors are checksummed")
        h.update(b"T" + str(t.dtype).encode() + _length(t.dim()) + b"".join(_length(s) for s in t.shape))
        raw = t.to("cpu").contiguous().reshape(-1).view(torch.uint8)
        h.update(_length(raw.numel()))
        h.update(memoryview(raw.numpy()))
    elif isinstance(value, dict):
        h.update(b"D" + _length(len(value)))
        for key in sorted(value, key=lambda k: (type(k).__name__, k)):
            _update(h, key, f"{where}.<key>")
            _update(h, value[key], f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        h.update(b"L" + _length(len(value)))
        for i, item in enumerate(value):
            _update(h, item, f"{where}[{i}]")
    elif value is None:
        h.update(b"N")
    elif isinstance(value, bool):
        h.update(b"B1" if value else b"B0")
    elif isinstance(value, int):
        text = str(value).encode()
        h.update(b"I" + _length(len(text)) + text)
    elif isinstance(value, float):
        text = value.hex().encode()  # exact, and defined for nan and inf
        h.update(b"F" + _length(len(text)) + text)
    elif isinstance(value, str):
        text = value.encode("utf-8", "surrogatepass")
        h.update(b"S" + _length(len(text)) + text)
    elif isinstance(value, (bytes, bytearray)):
        h.update(b"Y" + _length(len(value)) + bytes(value))
    else:
        raise TypeError(f"state_digest: {where} is a {type(value).__name__}; a checksummed state holds only "
                        "tensors, dicts, lists, tuples, numbers, strings and None")


def state_digest(state: Any) -> str:
    """SHA-256 (hex) of the canonical encoding of ``state`` (see the module docstring).

    >>> state_digest({"w": torch.zeros(2), "step": 3}) == state_digest({"step": 3, "w": torch.zeros(2)})
    True
    >>> state_digest({"w": torch.zeros(2)}) == state_digest({"w": torch.zeros(2, dtype=torch.float64)})
    False
    """
    h = hashlib.sha256()
    _update(h, state, "state")
    return h.hexdigest()
