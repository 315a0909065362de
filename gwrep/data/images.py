"""Image files: safe decoding, ``folder`` (a generic image folder) and ``celeba``.

:func:`decode_image` opens one file with Pillow, optionally centre-crops a square and
resizes it (bilinear, antialiased), and turns any decoding failure (not an image,
truncated JPEG, more than :data:`MAX_IMAGE_PIXELS` pixels, checked from the header before
decoding) into a ValueError naming the file. Folder data sets list their files once
and decode lazily, per item.

CelebA (Liu et al. 2015): a folder of aligned JPEGs (the official ``img_align_celeba/``,
178x218, or a downsampled copy). As the GWAE authors, each face is centre-cropped to a
square of 144 px at the official width (scaled with the width: 72 px for the 89x109
copy) and resized to ``image_size`` (64). Split: the official ``list_eval_partition.txt``
when it sits in the folder or beside it, else a seeded 80/10/10 partition of the sorted
file names (``seed`` 0 by default: keep it fixed to compare runs). Targets are -1.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from gwrep.data.files import require_dir
from gwrep.data.views import ImageDataset, split_rows

__all__ = ["decode_image", "list_images", "ImageFolderDataset", "build_folder", "build_celeba", "IMAGE_SUFFIXES",
           "CELEBA_CROP_FRACTION", "MAX_IMAGE_PIXELS", "check_pixels"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
#: The GWAE authors' CelebA crop: 144 px of the official 178 px width.
CELEBA_CROP_FRACTION = 144 / 178


#: The most pixels gwrep decodes from one image file (width x height): 50 megapixels, far above any data set
#: image (CelebA 178x218, a 4K frame 8.3 MP), far below what exhausts the memory (a 30000 x 30000 PNG of a few
#: kB decodes to 2.7 GB of RGB).
MAX_IMAGE_PIXELS = 50_000_000


def check_pixels(path: str | Path, size: tuple[int, int]) -> None:
    """ValueError naming ``path`` when an image of ``size`` (width, height) has more than :data:`MAX_IMAGE_PIXELS`."""
    width, height = size
    if width * height > MAX_IMAGE_PIXELS:
        raise ValueError(f"{path}: {width}x{height} is {width * height:,} pixels, more than the {MAX_IMAGE_PIXELS:,} "
                         "gwrep decodes from one image (a decompression bomb, or an image to shrink first); not read")


def decode_image(path: str | Path, mode: str = "RGB", crop: float | int | str | None = None,
                 size: int | None = None) -> np.ndarray:
    """One image as float32 in [0, 1]: (H, W) for mode "L", (H, W, 3) for "RGB".

    ``crop``: None (no crop), "square" (the largest), an int (side in pixels) or a float
    in (0, 1] (side as a fraction of the width) of a centred square. ``size``: resize the result to size x size.
    """
    import warnings

    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    try:
        with warnings.catch_warnings():  # our own bound below names the file; Pillow's warning does not
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(p) as img:  # reads the header only: the size is known before any pixel is decoded
                check_pixels(p, img.size)
                img.load()
                img = img.convert(mode)
    except FileNotFoundError:
        raise FileNotFoundError(f"image file not found: {p}") from None
    except Image.DecompressionBombError as err:  # Pillow's own limit (twice its MAX_IMAGE_PIXELS), hit at open
        raise ValueError(f"{p}: too many pixels to decode ({err})") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        if isinstance(err, ValueError) and str(err).startswith(str(p)):
            raise
        raise ValueError(f"{p}: cannot decode image ({type(err).__name__}: {err})") from None
    if crop is not None:
        w, h = img.size
        if crop == "square":
            side = min(w, h)
        elif isinstance(crop, (int, np.integer)):
            side = int(crop)
        else:
            side = int(round(float(crop) * w))
        if not 1 <= side <= min(w, h):
            raise ValueError(f"{p}: crop {side} px does not fit a {w}x{h} image")
        left, top = (w - side) // 2, (h - side) // 2
        img = img.crop((left, top, left + side, top + side))
    if size is not None and img.size != (size, size):
        img = img.resize((size, size), Image.BILINEAR)
    return np.asarray(img, dtype=np.float32) / 255.0


def list_images(root: str | Path, recursive: bool = True) -> list[Path]:
    """Sorted image files (by suffix) under ``root``; ValueError if there are none."""
    base = require_dir(root, "image folder")
    walk = base.rglob("*") if recursive else base.iterdir()
    files = sorted(f for f in walk if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file())
    if not files:
        raise ValueError(f"{base}: no image files ({', '.join(IMAGE_SUFFIXES)}) found")
    return files


class ImageFolderDataset(ImageDataset):
    """Image files decoded lazily to RGB ``size`` x ``size`` (after an optional centred square crop)."""

    def __init__(self, files: list[Path], labels: np.ndarray | None, rows: np.ndarray | None, transform, *,
                 size: int, crop: float | int | None) -> None:
        self.files, self.size, self.crop = files, size, crop
        self.labels = np.full(len(files), -1, np.int64) if labels is None else np.asarray(labels, np.int64)
        self.native_shape = (3, size, size)
        # resizing happens at decode time; the transform keeps only channels / inversion
        transform = type(transform)(None, transform.channels, transform.invert)
        super().__init__(np.arange(len(files)) if rows is None else rows, transform)

    def _read(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        images = np.zeros((len(rows), self.size, self.size, 3), np.float32)
        for i, r in enumerate(rows):
            images[i] = decode_image(self.files[r], "RGB", self.crop, self.size)
        return images.transpose(0, 3, 1, 2), self.labels[rows]


def _folder_labels(root: Path, files: list[Path]) -> np.ndarray:
    classes = sorted({f.relative_to(root).parts[0] for f in files if len(f.relative_to(root).parts) > 1})
    if not classes:
        raise ValueError(f"{root}: labels='subfolders' needs images inside class subfolders")
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index.get(f.relative_to(root).parts[0], -1) for f in files], dtype=np.int64)


def build_folder(root: str | Path, split: str, transform, seed: int, *, crop: str | int | None = None,
                 labels: str | None = None) -> ImageFolderDataset:
    """Any folder of images, recursively; ``crop`` None / "square" / pixels; ``labels`` None (-1) or "subfolders"."""
    if root is None:
        raise ValueError("the 'folder' data set needs root=PATH to a folder of images")
    files = list_images(root)
    if labels not in (None, "subfolders"):
        raise ValueError(f"labels must be None or 'subfolders'; got {labels!r}")
    if crop is not None and crop != "square" and not isinstance(crop, int):
        raise ValueError(f"crop must be None, 'square' or an int number of pixels; got {crop!r}")
    label_array = _folder_labels(Path(root).expanduser(), files) if labels else None
    return ImageFolderDataset(files, label_array, split_rows(len(files), split, seed), transform,
                              size=transform.image_size or 64, crop=crop)


def _official_partition(root: Path, files: list[Path], split: str) -> np.ndarray | None:
    for candidate in (root / "list_eval_partition.txt", root.parent / "list_eval_partition.txt"):
        if candidate.is_file():
            table = dict(line.split()[:2] for line in candidate.read_text().splitlines() if line.strip())
            code = {"train": "0", "val": "1", "test": "2"}[split]
            return np.array([i for i, f in enumerate(files) if table.get(f.name) == code], dtype=np.int64)
    return None


def build_celeba(root: str | Path, split: str, transform, seed: int) -> ImageFolderDataset:
    """CelebA aligned faces: centre crop 144/178 of the width, resize to ``image_size``; fixed split."""
    if root is None:
        raise ValueError("the 'celeba' data set needs root=PATH to img_align_celeba/ (a folder of JPEGs)")
    base = require_dir(root, "CelebA folder")
    if not any(f.suffix.lower() in IMAGE_SUFFIXES for f in base.iterdir()):
        holding = sorted(d.name for d in base.iterdir() if d.is_dir()
                         and any(f.suffix.lower() in IMAGE_SUFFIXES for f in d.iterdir()))
        if holding:  # e.g. the parent of img_align_celeba/ was given
            raise ValueError(f"{base} holds no images itself; its subfolder(s) {holding} do: give root "
                             f"(--data-root) {base / holding[0]}")
    files = list_images(base, recursive=False)
    rows = None
    if split in ("train", "val", "test"):
        rows = _official_partition(base, files, split)
    if rows is None:
        rows = split_rows(len(files), split, seed)
    return ImageFolderDataset(files, None, rows, transform, size=transform.image_size or 64, crop=CELEBA_CROP_FRACTION)
