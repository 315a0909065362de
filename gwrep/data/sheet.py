"""Contact sheets of factor data sets: one row per factor, that factor varied alone.

:func:`traversal_factors` builds the factor tuples (pure numpy, testable);
:func:`save_contact_sheet` renders them into a labelled PNG with matplotlib.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from gwrep.data.base import FactorData

__all__ = ["traversal_factors", "save_contact_sheet"]


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


def save_contact_sheet(data: FactorData, path: str | Path, *, base: np.ndarray | None = None, seed: int = 0,
                       max_columns: int = 15, title: str | None = None) -> Path:
    """Write a PNG grid: row k shows ``data`` with factor k varied alone from ``base``.

    ``base`` defaults to a factor tuple drawn with ``seed``. Columns are labelled by the
    factor class, rows by the factor name and size. Returns the path written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not getattr(data, "is_full_grid", True):
        raise ValueError(f"{getattr(data, 'source', type(data).__name__)} holds only some factor tuples, so one factor "
                         "cannot be varied alone; show a full-grid set instead (e.g. dsprites variant=downsampled)")
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give the file to write, e.g. {path / 'sheet.png'}")
    if not path.suffix:  # matplotlib would add .png itself; say the true name
        path = path.with_suffix(".png")
    rng = np.random.default_rng(seed)
    base = data.sample_factors(1, rng)[0] if base is None else np.asarray(base, dtype=np.int64)
    rows = traversal_factors(tuple(data.factor_sizes), base, max_columns)
    ncols = max(len(r) for r in rows)
    fig, axes = plt.subplots(len(rows), ncols, figsize=(0.95 * ncols + 1.6, 1.0 * len(rows) + 0.8), squeeze=False)
    for k, tuples in enumerate(rows):
        images = data.sample_observations_from_factors(tuples, rng)
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
        axes[k, 0].set_ylabel(f"{data.factor_names[k]}\n({data.factor_sizes[k]})", fontsize=8, rotation=0,
                              ha="right", va="center")
    fig.suptitle(title or f"{type(data).__name__}: each row varies one factor from base {base.tolist()}", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
