"""``gwrep data verify``: published checksums, and the headers of files whose authors publish none.

:func:`verify` gives each file one status:

- ``OK`` / ``MISMATCH``: a checksum is known for its name (:func:`gwrep.data.files.verify_checksums`:
  MNIST, Omniglot, the dSprites subsets);
- ``valid`` / ``BAD``: no checksum is published (SmallNORB, Cars3D, MPI3D), so the header is
  checked the way the loader checks it (magic number, shape, dtype, the declared size against
  the file's size; no image data is read), and ``BAD`` carries the loader's one-line problem;
- ``unknown``: neither.
"""
from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Callable

from gwrep.data.files import verify_checksums

__all__ = ["FORMAT_CHECKS", "check_format", "verify"]


def _norb(path: Path) -> None:
    from gwrep.data.smallnorb import check_norb_file

    check_norb_file(path)


def _car(path: Path) -> None:
    from gwrep.data.cars3d import check_car_file

    check_car_file(path)


def _mpi3d(path: Path) -> None:
    from gwrep.data.mpi3d import check_mpi3d_file

    check_mpi3d_file(path)


#: File-name pattern -> header check (raises ValueError naming the file), for files without published checksums.
FORMAT_CHECKS: dict[str, Callable[[Path], None]] = {
    "smallnorb-*-dat.mat": _norb, "smallnorb-*-cat.mat": _norb, "smallnorb-*-info.mat": _norb,
    "car_*_mesh.mat": _car, "mpi3d_*.npz": _mpi3d,
}


def check_format(path: str | Path) -> str | None:
    """None when ``path``'s name has no header check; "" when its header is valid; else the problem."""
    p = Path(path)
    for pattern, check in FORMAT_CHECKS.items():
        if fnmatch.fnmatch(p.name, pattern):
            try:
                check(p)
            except (ValueError, OSError) as err:
                message = str(err)
                return message[len(str(p)) + 2:] if message.startswith(f"{p}: ") else message
            return ""
    return None


def verify(path: str | Path) -> list[tuple[Path, str, str]]:
    """``(file, status, problem)`` for a file or every file under a folder; statuses as in the module docstring."""
    out = []
    for f, status in verify_checksums(path):
        problem = check_format(f) if status == "unknown" else None
        if problem is not None:
            status = "BAD" if problem else "valid"
        out.append((f, status, problem or ""))
    return out
