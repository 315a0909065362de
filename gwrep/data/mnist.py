"""``mnist``: MNIST (LeCun et al. 1998) from the four official IDX files, gzipped or not.

The files are found in ``root`` or in torchvision's layout ``root/MNIST/raw``. Each IDX
header is checked (magic number: unsigned bytes, 3 dims for images / 1 for labels,
28x28, matching counts) and the data length against the header, so a wrong or
truncated file fails with its name; data are decompressed lazily on first access.
Splits: ``test`` = the 10,000 test images; ``val`` = a seeded 10% of the 60,000 training
images, ``train`` = the other 90% (the GWAE authors' 90/10 split); ``trainval`` = all 60,000.
Targets are the digit labels.
"""
from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from gwrep.data.files import require_dir
from gwrep.data.views import ImageDataset, split_parts

__all__ = ["read_idx_header", "read_idx", "find_idx", "MNISTDataset", "build_dataset", "MNIST_FILES"]

#: (images, labels) file stems of each part.
MNIST_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
_UBYTE = 0x08


#: What reading a truncated or corrupt (gzipped) IDX file raises; gzip.BadGzipFile is an OSError.
_READ_ERRORS = (OSError, EOFError, zlib.error)


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _payload_size(path: Path) -> int:
    """Uncompressed size of an IDX file: a .gz stores it (mod 2^32) in its last 4 bytes (RFC 1952, ISIZE)."""
    if path.suffix != ".gz":
        return path.stat().st_size
    with open(path, "rb") as fh:
        if fh.read(2) != b"\x1f\x8b":
            raise ValueError(f"{path}: not a gzip file (bad magic bytes)")
        fh.seek(-4, 2)
        return struct.unpack("<I", fh.read(4))[0]


def _gzip_length(path: Path, chunk: int = 1 << 20) -> int:
    """Decompressed length of a .gz, streamed; ValueError naming the file if the gzip stream is truncated or corrupt.

    Used when the ISIZE trailer disagrees with the IDX header: a cut-off .gz ends in
    arbitrary bytes, so its trailer says nothing and only decompressing tells which file is at fault.
    """
    total = 0
    try:
        with gzip.open(path, "rb") as fh:
            while block := fh.read(chunk):
                total += len(block)
    except _READ_ERRORS as err:
        raise ValueError(f"{path}: truncated or corrupt gzip file ({type(err).__name__}: {err})") from None
    return total


def read_idx_header(path: str | Path) -> tuple[int, ...]:
    """Dimensions of an unsigned-byte IDX file, validating its magic number and total length."""
    p = Path(path)
    try:
        with _open(p) as fh:
            head = fh.read(4)
            if len(head) < 4 or head[:2] != b"\x00\x00" or head[2] != _UBYTE or not 1 <= head[3] <= 4:
                raise ValueError(f"{p}: not an unsigned-byte IDX file (magic bytes {head.hex() or 'missing'})")
            raw = fh.read(4 * head[3])
            if len(raw) < 4 * head[3]:
                raise ValueError(f"{p}: truncated IDX header")
    except _READ_ERRORS as err:
        raise ValueError(f"{p}: unreadable IDX file ({type(err).__name__}: {err})") from None
    dims = struct.unpack(f">{head[3]}I", raw)
    expected = 4 + 4 * len(dims) + int(np.prod(dims))
    size = _payload_size(p)
    if size % 2**32 != expected % 2**32:
        held = "file holds"
        if p.suffix == ".gz":  # the trailer may be garbage: decompress (raises if the gzip stream is damaged)
            size, held = _gzip_length(p), "file decompresses to"
        raise ValueError(f"{p}: truncated or corrupt IDX file: header {dims} needs {expected} bytes, {held} {size}")
    return dims


def read_idx(path: str | Path) -> np.ndarray:
    """The uint8 array of an IDX file (validated header; truncation or corruption -> ValueError)."""
    p = Path(path)
    dims = read_idx_header(p)
    try:
        with _open(p) as fh:
            fh.seek(4 + 4 * len(dims))
            data = fh.read()
    except _READ_ERRORS as err:
        raise ValueError(f"{p}: corrupt or truncated IDX file ({type(err).__name__}: {err})") from None
    if len(data) != int(np.prod(dims)):
        raise ValueError(f"{p}: truncated IDX file: {len(data)} data bytes for dimensions {dims}")
    return np.frombuffer(data, dtype=np.uint8).reshape(dims)


def find_idx(root: str | Path, stem: str) -> Path:
    """The IDX file ``stem`` (or ``stem.gz``) in ``root`` or ``root/MNIST/raw``."""
    base = require_dir(root, "MNIST folder")
    for folder in (base, base / "MNIST" / "raw", base / "raw"):
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                return folder / name
    raise FileNotFoundError(f"MNIST file {stem}[.gz] not found in {base} (or {base}/MNIST/raw)")


class MNISTDataset(ImageDataset):
    """One MNIST part (``train`` or ``test`` files): headers checked now, data read on first access."""

    native_shape = (1, 28, 28)

    def __init__(self, root: str | Path, part: str, rows: np.ndarray | None = None, transform=None) -> None:
        self.image_file, self.label_file = (find_idx(root, stem) for stem in MNIST_FILES[part])
        dims, label_dims = read_idx_header(self.image_file), read_idx_header(self.label_file)
        if len(dims) != 3 or dims[1:] != (28, 28):
            raise ValueError(f"{self.image_file}: MNIST images must be (N, 28, 28), header says {dims}")
        if len(label_dims) != 1 or label_dims[0] != dims[0]:
            raise ValueError(f"{self.label_file}: {label_dims} labels for {dims[0]} images in {self.image_file}")
        self.num_images = dims[0]
        self._arrays: tuple[np.ndarray, np.ndarray] | None = None
        super().__init__(np.arange(self.num_images) if rows is None else rows, transform)

    def _read(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._arrays is None:
            labels = read_idx(self.label_file)
            if labels.max(initial=0) > 9:
                raise ValueError(f"{self.label_file}: label {labels.max()} outside 0..9")
            self._arrays = (read_idx(self.image_file), labels.astype(np.int64))
        images, labels = self._arrays
        return images[rows, None].astype(np.float32) * np.float32(1 / 255), labels[rows]


def build_dataset(root: str | Path, split: str, transform, seed: int) -> MNISTDataset:
    """``split`` in train / val / test / trainval (see the module docstring)."""
    return split_parts("MNIST", split, seed, lambda part: MNISTDataset(root, part, None, transform),
                       {"test": "test", "trainval": "train"}, train_part="train")
