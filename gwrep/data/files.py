"""File checks at the data boundary: paths, safe npz reading, checksums.

Every reader here turns numpy/zip/OS failures into ``ValueError`` (or
``FileNotFoundError``) whose message starts with the file and says what is wrong;
``.npz`` files are always opened with ``allow_pickle=False``, and the size an array
declares is checked against the bytes the file stores for it before anything is
allocated (:func:`check_declared_size`). :data:`KNOWN_SHA256`
holds the checksums of the official files (``../shared/data/README.md``) and
:data:`KNOWN_MD5` LeCun's md5 sums of the decompressed MNIST files, for
:func:`verify_checksums` (``gwrep data verify PATH``).
"""
from __future__ import annotations

import hashlib
import math
import zipfile
import zlib
from pathlib import Path
from typing import Iterable

import numpy as np

from gwrep.config import format_bytes

__all__ = ["require_file", "require_dir", "npz_headers", "read_npz", "check_array", "sha256", "md5",
           "KNOWN_SHA256", "KNOWN_MD5", "NPZ_ERRORS", "verify_checksums", "check_declared_size", "declared_bytes",
           "MAX_COMPRESSION_RATIO"]

#: sha256 of the official files, by file name.
KNOWN_SHA256: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "db8f937d487057fb14a9f0fbe97f0bc8d311ab41b750d41e1ff37c43b9e55e19",
    "train-labels-idx1-ubyte.gz": "51fc562b6747b666fbf6e84ce29d43c3cb5f9c388c664d43b33f02095313405a",
    "t10k-images-idx3-ubyte.gz": "cfeddb84311ecf044fc6a5b0f6ee8a24d265d4e83e388400186eb114082f4209",
    "t10k-labels-idx1-ubyte.gz": "e41c74e484045d39b462a7790a4af51301bd9b0b24f0154798d713ec68c45920",
    "images_background.npz": "8bf84167413cd00beacdce3fe582f780ab538d8dbef043a6d688f2527bbce199",
    "images_evaluation.npz": "0b84c7ffd94c4841c0040e529c86a82eaaccb986d8eadad5673f7991b7475276",
    "dsprites_subset.npz": "7cdd7cc2beb087b005d2591039c9d000a96290671cf29c236bd58458a30a3b35",
    "dsprites_downsampled.npz": "0da99e4a7d9a87b1e8204b15d5eb03a5d5c8aa3e932f49af6f65a4b954c3493d",
}
#: md5 of the decompressed MNIST IDX files (LeCun's canonical sums), by file name.
KNOWN_MD5: dict[str, str] = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}


def require_file(path: str | Path, what: str = "data file") -> Path:
    """``path`` as a Path; FileNotFoundError naming it (and ``what``) if it is not a file."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise FileNotFoundError(f"{what} not found: {p}" + (" (it is a folder)" if p.is_dir() else ""))
    return p


def require_dir(path: str | Path, what: str = "data folder") -> Path:
    """``path`` as a Path; FileNotFoundError / NotADirectoryError naming it if it is not a folder."""
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"{what} not found: {p}")
    if not p.is_dir():
        raise NotADirectoryError(f"{what} must be a folder, got a file: {p}")
    return p


#: What reading a missing, truncated or corrupt .npz raises: zip and OS errors, numpy's header
#: ValueError, and zlib.error from a damaged deflate stream (e.g. bytes overwritten mid-file).
NPZ_ERRORS = (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error)


def _open_npz(path: Path):
    try:
        return np.load(path, allow_pickle=False)
    except NPZ_ERRORS as err:
        raise ValueError(f"{path}: not a readable .npz file ({type(err).__name__}: {err})") from None


#: The most bytes one stored (compressed) byte can stand for: deflate's largest expansion, one 258-byte match
#: per 2 bits, is about 1032:1 (zlib's documentation); HDF5's gzip filter is deflate. A file that declares more
#: is truncated or forged, and reading it would allocate what it declares.
MAX_COMPRESSION_RATIO = 1032
#: Declared bytes always allowed (small files: headers, fill values of a tiny test grid).
DECLARED_SLACK = 1 << 20


def declared_bytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    """Bytes of an array of ``shape`` and ``dtype`` (Python ints: no overflow for forged shapes)."""
    return math.prod(int(n) for n in shape) * np.dtype(dtype).itemsize


def check_declared_size(source: str, name: str, shape: tuple[int, ...], dtype: np.dtype, stored: int) -> None:
    """ValueError when array ``name`` of ``source`` declares more bytes than its ``stored`` bytes can hold.

    Checked before anything is read or allocated: a 1.7 kB file declaring 2e8 images (9 GiB of labels)
    is refused naming both sizes, instead of exhausting the memory. Allowed: ``stored`` x
    :data:`MAX_COMPRESSION_RATIO` + :data:`DECLARED_SLACK`.
    """
    declared = declared_bytes(shape, dtype)
    if declared > MAX_COMPRESSION_RATIO * int(stored) + DECLARED_SLACK:
        raise ValueError(f"{source}: array {name!r} declares shape {tuple(shape)} {np.dtype(dtype)} "
                         f"({format_bytes(declared)}) but the file stores {format_bytes(stored)} for it: truncated "
                         f"or forged (more than {MAX_COMPRESSION_RATIO}:1); not read")


def npz_headers(path: str | Path, required: Iterable[str] = ()) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of every array in an .npz, read from the headers only (no decompression of the data).

    An array whose declared bytes its zip member cannot hold (:func:`check_declared_size` against the
    compressed size) is refused here, before any reader allocates it.
    """
    p = require_file(path)
    try:
        with zipfile.ZipFile(p) as zf:
            out = {}
            for info in zf.infolist():
                name = info.filename
                if not name.endswith(".npy"):
                    continue
                with zf.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                    shape, _, dtype = read(fh)
                if np.dtype(dtype).hasobject:  # pickled objects: no fixed size; allow_pickle=False refuses them
                    out[name[:-4]] = (tuple(shape), np.dtype(dtype))
                    continue
                check_declared_size(str(p), name[:-4], shape, dtype, info.compress_size)
                if declared_bytes(shape, dtype) > info.file_size:
                    raise ValueError(f"{p}: array {name[:-4]!r} declares shape {tuple(shape)} {np.dtype(dtype)} "
                                     f"({format_bytes(declared_bytes(shape, dtype))}) but its member holds "
                                     f"{format_bytes(info.file_size)}: truncated or forged; not read")
                out[name[:-4]] = (tuple(shape), np.dtype(dtype))
    except NPZ_ERRORS as err:
        if isinstance(err, ValueError) and str(err).startswith(str(p)):
            raise
        raise ValueError(f"{p}: not a readable .npz file ({type(err).__name__}: {err})") from None
    missing = [k for k in required if k not in out]
    if missing:
        raise ValueError(f"{p}: missing array(s) {missing}; found {sorted(out)}")
    return out


def read_npz(path: str | Path, keys: Iterable[str]) -> dict[str, np.ndarray]:
    """The arrays ``keys`` of an .npz (``allow_pickle=False``); ValueError naming the file if missing or corrupt."""
    p = require_file(path)
    keys = list(keys)
    npz_headers(p)  # declared sizes checked against the file before numpy allocates them
    with _open_npz(p) as npz:
        missing = [k for k in keys if k not in npz.files]
        if missing:
            raise ValueError(f"{p}: missing array(s) {missing}; found {sorted(npz.files)}")
        try:
            return {k: npz[k] for k in keys}
        except NPZ_ERRORS as err:
            raise ValueError(f"{p}: corrupt or truncated .npz ({type(err).__name__}: {err})") from None


def check_array(source: str, name: str, shape: tuple[int, ...], dtype: np.dtype,
                ndim: int | None = None, tail: tuple[int, ...] | None = None, kinds: str | None = None) -> None:
    """ValueError naming ``source`` and array ``name`` when its ``ndim``, trailing dims ``tail`` or dtype kind differ.

    ``kinds`` lists allowed numpy dtype kinds: 'b' bool, 'u' unsigned, 'i' signed, 'f' float.
    """
    if ndim is not None and len(shape) != ndim:
        raise ValueError(f"{source}: array {name!r} must have {ndim} dimensions, got shape {shape}")
    if tail is not None and tuple(shape[len(shape) - len(tail):]) != tuple(tail):
        raise ValueError(f"{source}: array {name!r} must have shape (N, {', '.join(map(str, tail))}), got {shape}")
    if kinds is not None and np.dtype(dtype).kind not in kinds:
        raise ValueError(f"{source}: array {name!r} has dtype {np.dtype(dtype)}, expected kind(s) {kinds!r}")


def _digest(path: str | Path, algorithm: str, chunk: int = 1 << 20) -> str:
    """Hex digest of a file with the hashlib ``algorithm``, read in chunks."""
    h = hashlib.new(algorithm)
    with open(require_file(path), "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256(path: str | Path) -> str:
    """Hex sha256 of a file."""
    return _digest(path, "sha256")


def md5(path: str | Path) -> str:
    """Hex md5 of a file (only to compare with published md5 sums, e.g. :data:`KNOWN_MD5`)."""
    return _digest(path, "md5")


def verify_checksums(path: str | Path) -> list[tuple[Path, str]]:
    """``(file, status)`` for a file or every file under a folder: "OK", "MISMATCH" or "unknown".

    A file is known when its name is in :data:`KNOWN_SHA256` (checked by sha256) or in
    :data:`KNOWN_MD5` (the ungzipped MNIST files, checked by md5: the sums LeCun published).
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"path to verify not found: {p}")
    files = [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.is_file())
    results = []
    for f in files:
        if f.name in KNOWN_SHA256:
            status = "OK" if sha256(f) == KNOWN_SHA256[f.name] else "MISMATCH"
        elif f.name in KNOWN_MD5:
            status = "OK" if md5(f) == KNOWN_MD5[f.name] else "MISMATCH"
        else:
            status = "unknown"
        results.append((f, status))
    return results
