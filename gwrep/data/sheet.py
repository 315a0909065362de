"""Contact sheets of factor data sets: one row per factor, that factor varied alone.

:func:`traversal_factors` builds the factor tuples (pure numpy), :func:`contact_sheet`
the layout with its images (a :class:`ContactSheet`), :func:`draw_contact_sheet` the
matplotlib figure and :func:`save_contact_sheet` the labelled PNG, whose text chunk
``Rows`` lists the row labels (so a written sheet can be checked without the figure).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gwrep.data.base import FactorData

__all__ = ["traversal_factors", "ContactSheet", "contact_sheet", "draw_contact_sheet", "save_contact_sheet"]


def traversal_factors(factor_sizes: tuple[int, ...], base: np.ndarray, max_columns: int = 15) -> list[np.ndarray]:
    """For each factor k, tuples equal to ``base`` except factor k at up to ``max_columns`` evenly spaced classes.

    >>> [t[:, 1].tolist() for t in traversal_factors((2, 5), np.array([0, 0]), max_columns=3)][1]
    [0, 2, 4]
    """
    rows = []
    for k, size in enumerate(factor_sizes):
        values = np.unique(np.round(np.linspace(0, size - 1, min(size, max_columns))).astype(np.int64))
        tuples = np.repeat(np.asarray(base, dtype=np.int64)[None], len(values), axis=0)
        tuples[:, k] = values
        rows.append(tuples)
    return rows


@dataclass(frozen=True)
class ContactSheet:
    """The layout of a contact sheet: row k shows factor k varied alone from ``base``.

    ``factors[k]`` (n_k, K) int64 are the tuples of row k and ``images[k]`` (n_k, C, H, W)
    float32 their observations; ``row_labels[k]`` is the factor's name, ``columns`` the
    widest row.
    """

    base: np.ndarray
    row_labels: tuple[str, ...]
    factor_sizes: tuple[int, ...]
    factors: tuple[np.ndarray, ...]
    images: tuple[np.ndarray, ...]

    @property
    def columns(self) -> int:
        return max(len(f) for f in self.factors)


def contact_sheet(data: FactorData, *, base: np.ndarray | None = None, seed: int = 0,
                  max_columns: int = 15) -> ContactSheet:
    """The traversals of ``data`` from ``base`` (default: a factor tuple drawn with ``seed``) and their images.

    ValueError for a set that is not a full grid (one factor cannot be varied alone there).
    """
    if not getattr(data, "is_full_grid", True):
        raise ValueError(f"{getattr(data, 'source', type(data).__name__)} holds only some factor tuples, so one factor "
                         "cannot be varied alone; show a full-grid set instead (e.g. dsprites variant=downsampled)")
    rng = np.random.default_rng(seed)
    base = data.sample_factors(1, rng)[0] if base is None else np.asarray(base, dtype=np.int64)
    rows = traversal_factors(tuple(data.factor_sizes), base, max_columns)
    images = tuple(data.sample_observations_from_factors(tuples, rng) for tuples in rows)
    return ContactSheet(base, tuple(data.factor_names), tuple(data.factor_sizes), tuple(rows), images)


def draw_contact_sheet(sheet: ContactSheet, title: str):
    """A matplotlib Figure of ``sheet``: axes (K, columns), row k labelled with factor k's name and size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nrows, ncols = len(sheet.factors), sheet.columns
    fig, axes = plt.subplots(nrows, ncols, figsize=(0.95 * ncols + 1.6, 1.0 * nrows + 0.8), squeeze=False)
    for k, (tuples, images) in enumerate(zip(sheet.factors, sheet.images)):
        for j in range(ncols):
            ax = axes[k, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j >= len(tuples):
                ax.axis("off")
                continue
            img = images[j].transpose(1, 2, 0)
            ax.imshow(img[..., 0] if img.shape[2] == 1 else img, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_title(str(int(tuples[j, k])), fontsize=7, pad=2)
        axes[k, 0].set_ylabel(f"{sheet.row_labels[k]}\n({sheet.factor_sizes[k]})", fontsize=8, rotation=0,
                              ha="right", va="center")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def save_contact_sheet(data: FactorData, path: str | Path, *, base: np.ndarray | None = None, seed: int = 0,
                       max_columns: int = 15, title: str | None = None) -> Path:
    """Write a PNG grid: row k shows ``data`` with factor k varied alone from ``base``.

    ``base`` defaults to a factor tuple drawn with ``seed``. Columns are labelled by the
    factor class, rows by the factor name and size; a PNG's text chunk ``Rows`` holds
    the row labels as a JSON list (other formats matplotlib writes get no such chunk).
    Returns the path written.
    """
    import matplotlib.pyplot as plt

    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give the file to write, e.g. {path / 'sheet.png'}")
    if not path.suffix:  # matplotlib would add .png itself; say the true name
        path = path.with_suffix(".png")
    sheet = contact_sheet(data, base=base, seed=seed, max_columns=max_columns)
    fig = draw_contact_sheet(sheet, title or f"{type(data).__name__}: each row varies one factor from base "
                                              f"{sheet.base.tolist()}")
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = {"Rows": json.dumps(list(sheet.row_labels))} if path.suffix.lower() == ".png" else None  # PNG text only
    fig.savefig(path, dpi=110, metadata=rows)
    plt.close(fig)
    return path
