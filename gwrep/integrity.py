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
- :func:`refuse_links_out`: a run, sweep or experiment folder never writes through a
  symbolic link that leads out of it (a copied folder whose ``.lock`` or ``checkpoints/``
  points at another run's files); the temporary file of :func:`atomic_write_bytes` is
  created fresh (``O_CREAT | O_EXCL``, which never follows a link), so a planted ``*.tmp`` link
  is never written through.
- :func:`memory_error_text`: an out-of-memory failure (``MemoryError``, torch's allocator
  errors) as one line naming the size that did not fit; :func:`available_memory` is what
  the trainer checks a model's size against before allocating it.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import struct
from pathlib import Path
from typing import Any, Iterator

import torch

from gwrep.config import format_bytes

__all__ = ["atomic_write_bytes", "state_digest", "naming_path", "refuse_links_out", "LinkOutError",
           "memory_error_text", "available_memory"]


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
            tmp.unlink(missing_ok=True)  # a stale temporary, or a link planted there: never written through
            with open(tmp, "xb") as f:  # O_CREAT | O_EXCL: fails on any existing name, a symbolic link included
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
    return path


class LinkOutError(ValueError):
    """A folder gwrep writes in holds a symbolic link that leads out of it."""


def refuse_links_out(folder: str | os.PathLike, what: str = "run folder") -> None:
    """Raise :class:`LinkOutError` if anything inside ``folder`` is a symbolic link leading out of it.

    ``folder`` itself may be a link (the user chose where it lives); every entry below it is
    checked without following links, and a link is refused when its target (resolved, dangling
    or not) lies outside ``folder``. gwrep writes a run's lock, checkpoints, model and figures
    by name inside its folder, so such a link would make it write another run's files. A
    missing folder passes (nothing inside to follow).
    """
    root = Path(folder)
    if not root.is_dir():
        return
    resolved_root = root.resolve()
    for current, dirs, files in os.walk(root):  # followlinks=False: a linked folder is listed, not entered
        for name in dirs + files:
            entry = Path(current, name)
            if not entry.is_symlink():
                continue
            target = entry.resolve()
            if target != resolved_root and resolved_root not in target.parents:
                raise LinkOutError(
                    f"{entry} is a symbolic link to {target}, outside the {what} {root}; gwrep does not write through "
                    f"links out of a {what}: replace it with a real file or folder (cp -rL copies what links point to)")


#: What torch's allocators say when an allocation fails (CPU: "DefaultCPUAllocator: not enough memory: you
#: tried to allocate N bytes"; CUDA: torch.OutOfMemoryError, "Tried to allocate 2.00 GiB").
_ALLOCATION_FAILED = ("can't allocate memory", "not enough memory", "out of memory")
_TRIED = re.compile(r"[Tt]ried to allocate ([0-9.]+ ?[KMGTP]?i?B|\d+ bytes)")


def memory_error_text(err: BaseException) -> str | None:
    """One line for an out-of-memory failure (naming the size asked for when the error does), else None.

    >>> memory_error_text(RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not "
    ...                                "enough memory: you tried to allocate 4000000000 bytes."))
    'out of memory: an allocation of 4000000000 bytes (3.7 GiB) failed'
    >>> memory_error_text(ValueError("x")) is None
    True
    """
    text = str(err)
    if not isinstance(err, MemoryError) and not (
            isinstance(err, RuntimeError) and any(marker in text for marker in _ALLOCATION_FAILED)):
        return None
    found = _TRIED.search(text)
    if found:
        size = found.group(1)
        if size.endswith(" bytes"):
            size = f"{size} ({format_bytes(int(size.split()[0]))})"
        return f"out of memory: an allocation of {size} failed"
    first = text.strip().splitlines()[0] if text.strip() else ""
    return f"out of memory ({first})" if first else "out of memory"


def available_memory(device: torch.device | str = "cpu") -> int | None:
    """Bytes that can still be allocated on ``device``: Linux's ``MemAvailable`` for the CPU, the free memory
    of a CUDA device; None when the system does not say."""
    device = torch.device(device)
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    if device.type != "cpu":
        return None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


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
