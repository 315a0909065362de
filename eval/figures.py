"""Model-level figures of a run: reconstructions, prior samples, latent traversals, loss curves.

Each function takes a model with the :class:`gwrep.models.base.Model` interface (or a
``metrics.jsonl`` path), writes one labelled PNG and returns its path. Figures are drawn
on a bare :class:`matplotlib.figure.Figure`, so no pyplot state or GUI backend is touched.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

__all__ = ["image_grid", "save_reconstructions", "save_samples", "save_traversals", "save_loss_curves",
           "save_run_figures", "TRAVERSAL_MAX_DIMS"]


def image_grid(images: torch.Tensor | np.ndarray, ncols: int, pad: int = 2) -> np.ndarray:
    """Tile images (N, C, H, W) in [0, 1] into one (rows*(H+pad)-pad, cols*(W+pad)-pad, C) array.

    >>> image_grid(np.zeros((3, 1, 2, 2)), ncols=2, pad=1).shape
    (5, 5, 1)
    """
    images = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W), got shape {images.shape}")
    n, c, h, w = images.shape
    rows = math.ceil(n / ncols)
    grid = np.ones((rows * (h + pad) - pad, ncols * (w + pad) - pad, c), dtype=np.float32)
    for i in range(n):
        r, col = divmod(i, ncols)
        grid[r * (h + pad):r * (h + pad) + h, col * (w + pad):col * (w + pad) + w] = images[i].transpose(1, 2, 0)
    return np.clip(grid, 0.0, 1.0)


def _show(ax: Any, grid: np.ndarray) -> None:
    if grid.shape[-1] == 1:
        ax.imshow(grid[..., 0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(grid, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _save(fig: Any, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path


def _model_name(model: Any) -> str:
    return getattr(model, "registry_name", "") or type(model).__name__


def _at(step: int | None) -> str:
    """A title's ", step N" (the training step a figure shows), or nothing."""
    return "" if step is None else f", step {step}"


def save_reconstructions(model: Any, x: torch.Tensor, path: str | os.PathLike, step: int | None = None) -> Path:
    """Inputs ``x`` (N, C, H, W) in the top row, ``model.reconstruct(x)`` below (``step`` goes in the title)."""
    from matplotlib.figure import Figure

    x = x.detach()
    recon = model.reconstruct(x.to(model.device)).cpu()
    n = x.shape[0]
    fig = Figure(figsize=(max(1.2 * n, 4), 3.0))
    ax = fig.add_subplot()
    _show(ax, image_grid(torch.cat([x.cpu(), recon]), ncols=n))
    h = x.shape[-2] + 2
    ax.set_yticks([h / 2 - 1, h + h / 2 - 1], ["input", "reconstruction"])
    ax.set_title(f"{_model_name(model)}: reconstructions (decoded mean code){_at(step)}")
    return _save(fig, path)


def save_samples(model: Any, n: int, path: str | os.PathLike, seed: int = 0, step: int | None = None) -> Path:
    """``n`` images decoded from prior samples drawn with a generator seeded by ``seed`` (``step``: in the title)."""
    from matplotlib.figure import Figure

    if n <= 0:
        raise ValueError(f"n must be a positive number of samples, got {n}")
    gen = torch.Generator(device=model.device).manual_seed(seed)
    images = model.sample(n, generator=gen).cpu()
    ncols = math.ceil(math.sqrt(n))
    fig = Figure(figsize=(ncols * 0.9 + 1, math.ceil(n / ncols) * 0.9 + 0.8))
    ax = fig.add_subplot()
    _show(ax, image_grid(images, ncols=ncols))
    ax.set_title(f"{_model_name(model)}: {n} prior samples (seed {seed}){_at(step)}")
    return _save(fig, path)


#: Dimensions a traversal figure shows by default (the first ones): 16 rows stay readable on a page.
TRAVERSAL_MAX_DIMS = 16


@torch.no_grad()
def save_traversals(model: Any, x: torch.Tensor, path: str | os.PathLike, n_values: int = 7,
                    dims: Sequence[int] | None = None, quantile: float = 0.05, n_prior: int = 512,
                    seed: int = 0, max_dims: int = TRAVERSAL_MAX_DIMS, show_base: bool = True,
                    step: int | None = None) -> Path:
    """Latent traversal per dimension: rows = dimensions, columns = values.

    Starting from the mean code of ``x[0]``, dimension ``d`` is set to ``n_values``
    evenly spaced values between the ``quantile`` and ``1 - quantile`` quantiles of that
    dimension under the model's prior (``n_prior`` samples, seeded), so the range
    follows the learned prior's scale (GWAE's priors are not standard normal).

    Args:
        dims: latent dimensions to show (default: the first ``max_dims``).
        max_dims: how many dimensions ``dims=None`` shows; when the code has more, the
            title says "first max_dims of d dimensions".
        show_base: put a first column with the decoded mean code of ``x[0]``, the image
            every row starts from.
        step: the training step the model is at, for the title.
    """
    from matplotlib.figure import Figure

    if not 0.0 <= quantile < 0.5:
        raise ValueError(f"quantile must lie in [0, 0.5), got {quantile}")
    if n_values < 2:
        raise ValueError(f"n_values must be >= 2, got {n_values}")
    if isinstance(max_dims, bool) or not isinstance(max_dims, int) or max_dims < 1:
        raise ValueError(f"max_dims must be a positive integer, got {max_dims!r}")
    was_training = model.training
    model.eval()
    gen = torch.Generator(device=model.device).manual_seed(seed)
    prior = model.prior_sample(n_prior, generator=gen).float()
    latent_dim = prior.shape[1]
    dims = list(range(min(latent_dim, max_dims))) if dims is None else list(dims)
    bad = [d for d in dims if not 0 <= d < latent_dim]
    if bad:
        raise ValueError(f"dims {bad} out of range for a {latent_dim}-dimensional code")
    if not dims:
        raise ValueError("dims is empty: give at least one latent dimension to traverse")
    probs = torch.linspace(quantile, 1 - quantile, n_values, device=prior.device)
    values = torch.quantile(prior, probs, dim=0)  # (n_values, latent_dim)
    base = model.represent(x[:1].to(model.device))[0]
    codes = base.repeat(len(dims), n_values, 1)  # (rows, cols, latent_dim)
    for row, d in enumerate(dims):
        codes[row, :, d] = values[:, d]
    images = model.decode(codes.reshape(-1, latent_dim)).cpu()
    labels = [f"{p:.0%}" for p in probs.tolist()]
    if show_base:
        base_image = model.decode(base[None]).cpu()  # (1, C, H, W)
        images = images.view(len(dims), n_values, *images.shape[1:])
        images = torch.cat([base_image.expand(len(dims), 1, *base_image.shape[1:]), images], 1).flatten(0, 1)
        labels = ["base"] + labels
    model.train(was_training)
    ncols = len(labels)
    fig = Figure(figsize=(ncols * 0.9 + 1.2, len(dims) * 0.9 + 1.0))
    ax = fig.add_subplot()
    _show(ax, image_grid(images, ncols=ncols))
    h, w = x.shape[-2] + 2, x.shape[-1] + 2
    ax.set_yticks([r * h + h / 2 - 1 for r in range(len(dims))], [f"z{d}" for d in dims], fontsize=9)
    ax.set_xticks([c * w + w / 2 - 1 for c in range(ncols)], labels, fontsize=9)
    ax.set_xlabel("value of the dimension (prior quantile)" + ("; base = decoded mean code" if show_base else ""),
                  fontsize=10)
    ax.set_title(f"{_model_name(model)}: latent traversals ({_traversal_scope(dims, latent_dim)}){_at(step)}")
    return _save(fig, path)


def _traversal_scope(dims: list[int], latent_dim: int) -> str:
    """Which dimensions a traversal shows, for its title.

    >>> _traversal_scope([0, 1], 2), _traversal_scope(list(range(16)), 64), _traversal_scope([3, 5], 64)
    ('all 2 dimensions', 'first 16 of 64 dimensions', '2 of 64 dimensions')
    """
    if sorted(dims) == list(range(latent_dim)):
        return f"all {latent_dim} dimensions"
    if dims == list(range(len(dims))):
        return f"first {len(dims)} of {latent_dim} dimensions"
    return f"{len(dims)} of {latent_dim} dimensions"


def save_loss_curves(metrics_jsonl_path: str | os.PathLike, path: str | os.PathLike) -> Path:
    """One panel per logged loss: training line and validation points against the step."""
    from matplotlib.figure import Figure

    from gwrep.train.run import read_metrics

    records = read_metrics(metrics_jsonl_path)
    skip = {"step", "split", "epoch", "best", "time"}
    keys: list[str] = []
    for r in records:
        keys += [k for k, v in r.items() if k not in skip and k not in keys and isinstance(v, (int, float))
                 and not isinstance(v, bool)]
    if not keys:
        raise ValueError(f"{metrics_jsonl_path} holds no loss values to plot")
    ncols = min(3, len(keys))
    nrows = math.ceil(len(keys) / ncols)
    fig = Figure(figsize=(4.2 * ncols, 3.0 * nrows))
    for i, key in enumerate(keys):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        for split, style in (("train", "-"), ("val", "o-")):
            pts = [(r["step"], r[key]) for r in records if r.get("split") == split and key in r]
            if pts:
                steps, vals = zip(*pts)
                ax.plot(steps, vals, style, markersize=3, label=split)
        ax.set_title(key)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"losses: {Path(metrics_jsonl_path).parent.name}")
    fig.tight_layout()
    return _save(fig, path)


def save_run_figures(model: Any, x: torch.Tensor, metrics_jsonl_path: str | os.PathLike,
                     out_dir: str | os.PathLike, seed: int = 0,
                     traversal_dims: int = TRAVERSAL_MAX_DIMS, step: int | None = None) -> list[Path]:
    """The four figures of a run folder: reconstructions, samples, traversals (of the first
    ``traversal_dims`` dimensions), loss curves; the model's titles name ``step`` when given."""
    out_dir = Path(out_dir)
    paths = [save_reconstructions(model, x, out_dir / "reconstructions.png", step=step),
             save_samples(model, 36, out_dir / "samples.png", seed=seed, step=step),
             save_traversals(model, x, out_dir / "traversals.png", seed=seed, max_dims=traversal_dims, step=step)]
    if any(r.get("split") for r in _records_or_empty(metrics_jsonl_path)):
        paths.append(save_loss_curves(metrics_jsonl_path, out_dir / "loss_curves.png"))
    return paths


def _records_or_empty(path: str | os.PathLike) -> list[dict]:
    from gwrep.train.run import read_metrics

    return read_metrics(path) if Path(path).is_file() else []
