"""Size-checked readers for the binary formats of the study's data sets: NORB matrices, npz members, MAT files.

Each reader reads a header, checks what it declares against the bytes the file holds, and
only then maps or reads the data, so a wrong magic number, a wrong shape, a truncated file
or a header declaring more than the file can hold is one ``ValueError`` whose message starts
with the file and names the problem, and nothing is read (or allocated) past what the file
can hold.

- NORB binary matrix (SmallNORB's ``*-dat.mat``, ``*-cat.mat``, ``*-info.mat``; format of
  https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/): little-endian int32 magic number (the
  element type), int32 ``ndim``, ``max(3, ndim)`` int32 dimensions (unused ones are 1), then the
  data in C order. :func:`read_norb_matrix` memory-maps it.
- npz member (MPI3D's ``images``): :func:`npz_array` memory-maps a member stored
  uncompressed (the official MPI3D files: 12.7 GB of images are never read at once) and reads
  a deflated one after checking that its declared size is one deflate can produce.
- MATLAB v5 file (Cars3D's ``im``): :func:`mat_capacity` bounds the bytes its data elements
  can decode to, read from the element tags only.

:class:`ChannelsLast` shows an (N, H, W, C) array as (N, C, H, W), reading rows on demand.
"""
from __future__ import annotations

import math
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from gwrep.data.files import MAX_COMPRESSION_RATIO, NPZ_ERRORS, require_file

__all__ = ["NORB_TYPES", "NorbHeader", "read_norb_header", "read_norb_matrix", "npz_array", "mat_capacity",
           "ChannelsLast", "DEFLATE_MAX_RATIO"]

#: NORB magic number -> element type (0x1E3D4C52, the "packed matrix", is not used by SmallNORB and not read).
NORB_TYPES: dict[int, np.dtype] = {
    0x1E3D4C51: np.dtype("<f4"), 0x1E3D4C53: np.dtype("<f8"), 0x1E3D4C54: np.dtype("<i4"),
    0x1E3D4C55: np.dtype("u1"), 0x1E3D4C56: np.dtype("<i2"),
}
_NORB_MAX_NDIM = 16

#: deflate's largest expansion (:data:`gwrep.data.files.MAX_COMPRESSION_RATIO`, one constant for every
#: reader); a member declaring more than this times its compressed size cannot be what the file holds.
DEFLATE_MAX_RATIO = MAX_COMPRESSION_RATIO


def _describe(shape: tuple[int, ...], dtype: np.dtype) -> str:
    return f"shape {tuple(shape)} {np.dtype(dtype).name}"


@dataclass(frozen=True)
class NorbHeader:
    """A NORB binary matrix's header: element type, declared shape and where the data starts."""

    path: Path
    magic: int
    dtype: np.dtype
    shape: tuple[int, ...]
    offset: int

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def read_norb_header(path: str | Path) -> NorbHeader:
    """The header of a NORB binary matrix, checked against the file's size (no data is read).

    ValueError naming the file for: a file shorter than its header, an unknown magic number,
    an implausible ``ndim``, a negative dimension, and data bytes that differ from what the
    header declares (truncated, or a declared size that does not fit the file).
    """
    p = require_file(path, "NORB binary matrix")
    size = p.stat().st_size
    with open(p, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise ValueError(f"{p}: truncated: {size} bytes, shorter than a NORB matrix header (8 bytes and the "
                             "dimensions)")
        magic, ndim = struct.unpack("<Ii", head)
        if magic not in NORB_TYPES:
            known = ", ".join(f"0x{m:08X} ({t.name})" for m, t in NORB_TYPES.items())
            raise ValueError(f"{p}: wrong magic number 0x{magic:08X}; a NORB binary matrix starts with one of {known}")
        if not 1 <= ndim <= _NORB_MAX_NDIM:
            raise ValueError(f"{p}: header declares {ndim} dimensions; expected 1 to {_NORB_MAX_NDIM}")
        stored = max(3, ndim)
        raw = fh.read(4 * stored)
    offset = 8 + 4 * stored
    if len(raw) < 4 * stored:
        raise ValueError(f"{p}: truncated: {size} bytes, shorter than its {offset}-byte header")
    shape = struct.unpack(f"<{stored}i", raw)[:ndim]
    if min(shape) < 0:
        raise ValueError(f"{p}: header declares a negative dimension: {shape}")
    header = NorbHeader(p, magic, NORB_TYPES[magic], tuple(int(s) for s in shape), offset)
    held = size - offset
    if held < header.nbytes:
        raise ValueError(f"{p}: truncated: the header declares {_describe(header.shape, header.dtype)} "
                         f"({header.nbytes:,} bytes after the {offset}-byte header) but the file holds {held:,}")
    if held > header.nbytes:
        raise ValueError(f"{p}: the declared size does not fit the file: {_describe(header.shape, header.dtype)} is "
                         f"{header.nbytes:,} bytes after the {offset}-byte header, the file holds {held:,}")
    return header


def read_norb_matrix(path: str | Path, dtype: np.dtype | str | None = None, ndim: int | None = None,
                     check: Callable[[tuple[int, ...]], str | None] | None = None) -> np.ndarray:
    """A NORB binary matrix, memory-mapped read-only, after :func:`read_norb_header`'s checks.

    ``dtype`` / ``ndim``: the element type and number of dimensions the caller expects;
    ``check(shape)`` returns a problem with the shape (or None). Any mismatch is one
    ValueError naming the file.
    """
    header = read_norb_header(path)
    if dtype is not None and header.dtype != np.dtype(dtype):
        expected = [f"0x{m:08X}" for m, t in NORB_TYPES.items() if t == np.dtype(dtype)]
        raise ValueError(f"{header.path}: magic number 0x{header.magic:08X} is a {header.dtype.name} matrix; expected "
                         f"{np.dtype(dtype).name} ({', '.join(expected)})")
    if ndim is not None and len(header.shape) != ndim:
        raise ValueError(f"{header.path}: wrong shape: {header.shape} has {len(header.shape)} dimensions, expected "
                         f"{ndim}")
    problem = check(header.shape) if check is not None else None
    if problem:
        raise ValueError(f"{header.path}: wrong shape {header.shape}: {problem}")
    if header.nbytes == 0:
        return np.zeros(header.shape, dtype=header.dtype)
    return np.memmap(header.path, dtype=header.dtype, mode="r", offset=header.offset, shape=header.shape)


def _npy_header(fh) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """(shape, fortran_order, dtype, header length) of the .npy stream ``fh`` at its start."""
    version = np.lib.format.read_magic(fh)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read(fh)
    return tuple(int(s) for s in shape), bool(fortran), np.dtype(dtype), fh.tell()


def npz_array(path: str | Path, key: str) -> np.ndarray:
    """Array ``key`` of an .npz: memory-mapped when stored uncompressed, else decompressed; checked first.

    The member's .npy header must declare exactly the bytes the member holds, a plain
    (non-object) dtype, and, for a deflated member, no more than :data:`DEFLATE_MAX_RATIO`
    times its compressed size; a stored member must lie inside the file. Every failure is one
    ValueError naming the file.
    """
    p = require_file(path)
    name = f"{key}.npy"
    try:
        with zipfile.ZipFile(p) as zf:
            names = zf.namelist()
            if name not in names:
                found = sorted(n[:-4] for n in names if n.endswith(".npy"))
                raise ValueError(f"{p}: missing array {key!r}; found {found}")
            info = zf.getinfo(name)
            with zf.open(info) as fh:
                shape, fortran, dtype, head = _npy_header(fh)
                if dtype.hasobject:
                    raise ValueError(f"{p}: array {key!r} has dtype {dtype} (Python objects); expected numbers")
                declared = math.prod(shape) * dtype.itemsize
                if info.file_size != head + declared:
                    raise ValueError(f"{p}: array {key!r} declares {_describe(shape, dtype)} ({declared:,} bytes) but "
                                     f"its member holds {info.file_size - head:,} bytes (truncated or a declared size "
                                     "that does not fit)")
                if info.compress_type != zipfile.ZIP_STORED:
                    if info.file_size > DEFLATE_MAX_RATIO * max(info.compress_size, 1) + 1024:
                        raise ValueError(f"{p}: array {key!r} declares {info.file_size:,} bytes from "
                                         f"{info.compress_size:,} compressed: more than deflate can produce")
                    with zf.open(info) as again:  # read_array reads the .npy header itself
                        return np.lib.format.read_array(again, allow_pickle=False)
            with open(p, "rb") as raw:  # a stored member: its data starts after the local header and the .npy header
                raw.seek(info.header_offset)
                local = raw.read(30)
            if len(local) < 30 or local[:4] != b"PK\x03\x04":
                raise ValueError(f"{p}: corrupt zip: no local header for {name!r}")
            start = info.header_offset + 30 + sum(struct.unpack("<HH", local[26:30])) + head
    except NPZ_ERRORS as err:
        if isinstance(err, ValueError) and str(err).startswith(str(p)):
            raise
        raise ValueError(f"{p}: not a readable .npz file ({type(err).__name__}: {err})") from None
    if start + declared > p.stat().st_size:
        raise ValueError(f"{p}: truncated: array {key!r} ends at byte {start + declared:,}, the file has "
                         f"{p.stat().st_size:,}")
    if declared == 0:
        return np.zeros(shape, dtype=dtype)
    return np.memmap(p, dtype=dtype, mode="r", offset=start, shape=shape, order="F" if fortran else "C")


_MAT_TAGS = {14: "matrix", 15: "compressed"}  # miMATRIX, miCOMPRESSED


def mat_capacity(path: str | Path) -> int:
    """Upper bound on the bytes a MATLAB v5 file's data elements can decode to, from their tags alone.

    An uncompressed element holds its byte count; a compressed one at most
    :data:`DEFLATE_MAX_RATIO` times it. ValueError naming the file when it is not a v5 MAT
    file (v7.3 files are HDF5), or when an element's tag declares more bytes than remain.
    """
    p = require_file(path, "MATLAB file")
    size = p.stat().st_size
    with open(p, "rb") as fh:
        header = fh.read(128)
        if len(header) < 128:
            raise ValueError(f"{p}: truncated: {size} bytes, shorter than the 128-byte MATLAB header")
        if header[126:128] not in (b"IM", b"MI"):
            raise ValueError(f"{p}: not a MATLAB v5 .mat file (no endian indicator in the header)")
        order = "<" if header[126:128] == b"IM" else ">"
        version = struct.unpack(f"{order}H", header[124:126])[0]
        if version != 0x0100:
            raise ValueError(f"{p}: MATLAB file version 0x{version:04X} (v7.3 files are HDF5); expected a v5 file")
        capacity, position = 0, 128
        while position < size:
            tag = fh.read(8)
            if len(tag) < 8:
                raise ValueError(f"{p}: truncated: an element tag at byte {position:,} is cut off")
            kind, nbytes = struct.unpack(f"{order}II", tag)
            if position + 8 + nbytes > size:
                raise ValueError(f"{p}: truncated: the {_MAT_TAGS.get(kind, f'type-{kind}')} element at byte "
                                 f"{position:,} declares {nbytes:,} bytes, {size - position - 8:,} remain")
            capacity += nbytes * (DEFLATE_MAX_RATIO if kind == 15 else 1)
            position += 8 + nbytes
            fh.seek(position)
    return capacity


class ChannelsLast:
    """Array-like (N, C, H, W) view of an (N, H, W, C) ``array``; rows are read on indexing.

    ``reopen``, when given, opens the array again after unpickling (a DataLoader worker), so a
    memory map travels as its opener, not as its data.
    """

    ndim = 4

    def __init__(self, array: np.ndarray, reopen: Callable[[], np.ndarray] | None = None) -> None:
        self._array, self._reopen = array, reopen
        n, h, w, c = array.shape
        self.shape, self.dtype = (n, c, h, w), array.dtype

    def __len__(self) -> int:
        return self.shape[0]

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_array": None} if self._reopen is not None else self.__dict__

    def __getitem__(self, rows) -> np.ndarray:
        if self._array is None:
            self._array = self._reopen()
        return np.asarray(self._array[rows]).transpose(0, 3, 1, 2)
