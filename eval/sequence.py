"""Judge-classifier evaluation of sequential disentanglement (Li & Mandt, ICML 2018, Sec. 5.1) and clip figures.

The paper trains a classifier (the judge) on real clips to predict every ground-truth
factor, then generates clips from a model and asks whether the judge still finds the
factors of the clip they came from:

- ``fix_f``: keep the static code f of a test clip and draw z_1:T from the prior: the
  static factors (appearance) must survive; dynamic ones should fall to chance.
- ``fix_z``: keep the dynamic codes z_1:T and draw f from the prior: the dynamic
  factors (the action) must survive; static ones should fall to chance.
- ``reconstruction``: f and z both kept (the posterior means): the ceiling of both.

Accuracies are per factor, with the mean over the static and over the dynamic factors,
the judge's own accuracy on the real test clips, and chance (1 / size). Three layers
as the image metrics: :func:`train_judge` (the judge, seeded), :func:`judge_scores`
(a model, test clips and a judge -> the dict of accuracies) and :func:`factor_accuracy`
(predictions -> accuracy per factor). :func:`evaluate_sequence_run` is what ``gwrep
eval`` runs on a clip model's run; :func:`save_sequence_figures` draws the swap figure
(two clips with f and z exchanged), the traversal of f and resampled clips.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["ClipJudge", "train_judge", "cached_judge", "judge_cache_dir", "factor_accuracy", "judge_scores",
           "evaluate_sequence_run",
           "save_swap_figure", "save_f_traversal", "save_resampled_figure", "save_sequence_figures",
           "JUDGE_DEFAULTS", "JUDGE_FAST", "MODES"]

#: The generation modes of :func:`judge_scores`.
MODES = ("reconstruction", "fix_f", "fix_z")
#: Judge training settings (steps of Adam on batches of real training clips) and test clips scored.
JUDGE_DEFAULTS = {"judge_steps": 600, "judge_batch": 32, "judge_lr": 1e-3, "num_test": None}
#: Cheaper settings for in-training checks (``gwrep eval --fast``).
JUDGE_FAST = {"judge_steps": 200, "judge_batch": 32, "judge_lr": 1e-3, "num_test": 256}


class Predictor(Protocol):
    def predict(self, clips: Tensor) -> Tensor: ...


class ClipJudge(nn.Module):
    """A small conv net over a clip: per-frame conv features, in time order and pooled, an MLP, one head per factor.

    Frames: 4x4 stride-2 convolutions 32-64 and a 3x3 convolution 64, ReLU. Each frame
    gives a where-feature (the map average-pooled to 4x4, a linear map to 64) and a
    what-feature (the map max-pooled over space, 64). The T where-features are
    concatenated in time order (the order tells opposite motions apart) and the
    what-features averaged over time; 256 ReLU units and a linear head of
    ``sum(factor_sizes)`` logits, split per factor.
    """

    def __init__(self, clip_shape: Sequence[int], factor_sizes: Sequence[int]):
        super().__init__()
        t, c, _, _ = (int(s) for s in clip_shape)
        self.clip_shape = tuple(int(s) for s in clip_shape)
        self.factor_sizes = tuple(int(s) for s in factor_sizes)
        self.conv = nn.Sequential(nn.Conv2d(c, 32, 4, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(),
                                  nn.Conv2d(64, 64, 3, 1, 1), nn.ReLU())
        self.where = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(64 * 16, 64), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(t * 64 + 64, 256), nn.ReLU(), nn.Linear(256, sum(self.factor_sizes)))

    def forward(self, clips: Tensor) -> list[Tensor]:
        """Logits per factor, [(N, size_k)], of clips (N, T, C, H, W)."""
        if tuple(clips.shape[1:]) != self.clip_shape:
            raise ValueError(f"the judge takes clips (N, {', '.join(map(str, self.clip_shape))}); "
                             f"got shape {tuple(clips.shape)}")
        n, t = clips.shape[:2]
        maps = self.conv(clips.flatten(0, 1))  # (N*T, 64, h, w)
        where = self.where(maps).view(n, t * 64)
        what = maps.amax(dim=(2, 3)).view(n, t, 64).mean(1)
        return list(self.head(torch.cat([where, what], dim=1)).split(self.factor_sizes, dim=1))

    @torch.no_grad()
    def predict(self, clips: Tensor, batch_size: int = 128) -> Tensor:
        """Predicted factor classes (N, K) int64."""
        was_training = self.training
        self.eval()
        out = [torch.stack([lg.argmax(1) for lg in self(chunk)], dim=1) for chunk in clips.split(batch_size)]
        self.train(was_training)
        return torch.cat(out) if out else torch.zeros(0, len(self.factor_sizes), dtype=torch.long)


def train_judge(train_set: Any, *, judge_steps: int = 600, judge_batch: int = 32, judge_lr: float = 1e-3,
                seed: int = 0) -> ClipJudge:
    """A :class:`ClipJudge` trained with Adam on real clips of ``train_set`` (a clip view with ``get_batch``).

    Batches are drawn uniformly with a generator seeded by ``seed``; the loss is the sum of
    the factors' cross-entropies. The same seed and data give the same judge on a CPU.
    """
    if judge_steps < 1 or judge_batch < 1:
        raise ValueError(f"judge_steps and judge_batch must be >= 1, got {judge_steps} and {judge_batch}")
    sizes = tuple(train_set.factor_data.factor_sizes)
    with torch.random.fork_rng(devices=[]):  # the judge trains on the CPU; the caller's RNG state stays
        torch.manual_seed(seed)
        judge = ClipJudge(train_set.clip_shape, sizes)
        opt = torch.optim.Adam(judge.parameters(), lr=judge_lr)
        rng = np.random.default_rng(seed)
        for _ in range(judge_steps):
            clips, factors = train_set.get_batch(rng.integers(0, len(train_set), size=judge_batch))
            logits = judge(clips)
            loss = sum(nn.functional.cross_entropy(lg, factors[:, k]) for k, lg in enumerate(logits))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return judge.eval()


def judge_cache_dir() -> Path:
    """Where trained judges are kept: ``$GWREP_CACHE/judges``, default ``~/.cache/gwrep/judges``."""
    return Path(os.environ.get("GWREP_CACHE", Path.home() / ".cache" / "gwrep")).expanduser() / "judges"


def cached_judge(train_set: Any, data_key: dict[str, Any], *, seed: int = 0, **settings: Any) -> tuple[ClipJudge, Path]:
    """:func:`train_judge` on ``train_set``, kept in :func:`judge_cache_dir` under a hash of the data
    (``data_key``: name, options, root), the settings, the seed and the judge's layout.

    The judge depends only on the data, so every run on the same set and seed shares one;
    a cached file is loaded with ``weights_only=True`` and must fit the judge exactly.
    Returns the judge and its file.
    """
    judge = ClipJudge(train_set.clip_shape, train_set.factor_data.factor_sizes)
    layout = {k: list(v.shape) for k, v in judge.state_dict().items()}
    key = json.dumps({"data": data_key, "settings": settings, "seed": seed, "layout": layout}, sort_keys=True,
                     default=str)
    path = judge_cache_dir() / f"{hashlib.sha256(key.encode()).hexdigest()[:20]}.pt"
    if path.is_file():
        judge.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        print(f"judge: loaded {path}")
        return judge.eval(), path
    judge = train_judge(train_set, seed=seed, **settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(judge.state_dict(), tmp)
    os.replace(tmp, path)
    print(f"judge: trained ({settings}), saved to {path}")
    return judge, path


def factor_accuracy(predicted: Tensor | np.ndarray, factors: Tensor | np.ndarray) -> np.ndarray:
    """Fraction of rows whose predicted class equals the true one, per factor: (N, K) and (N, K) -> (K,)."""
    predicted, factors = np.asarray(predicted), np.asarray(factors)
    if predicted.shape != factors.shape or predicted.ndim != 2:
        raise ValueError(f"predictions {predicted.shape} and factors {factors.shape} must both be (N, K)")
    if len(factors) == 0:
        raise ValueError("no clips to score")
    return (predicted == factors).mean(0)


@torch.no_grad()
def _generate(model: Any, clips: Tensor, mode: str, generator: torch.Generator) -> Tensor:
    """Clips decoded from the posterior means of ``clips`` with f or z redrawn from the prior (``mode``)."""
    clips = clips.to(model.device)
    f, _ = model.encode_static(clips)
    z, _ = model.encode_dynamic(clips, f)
    if mode == "fix_f":
        z = model.sample_dynamic(len(clips), generator=generator)
    elif mode == "fix_z":
        f = model.sample_static(len(clips), generator=generator)
    elif mode != "reconstruction":
        raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
    return model.decode_clip(f, z).cpu()


@torch.no_grad()
def judge_scores(model: Any, clips: Tensor, factors: Tensor | np.ndarray, judge: Predictor, *,
                 factor_names: Sequence[str], static_factors: Sequence[int], dynamic_factors: Sequence[int],
                 factor_sizes: Sequence[int], seed: int = 0, batch_size: int = 64) -> dict[str, Any]:
    """Judge accuracies of clips generated by ``model`` from test ``clips`` (N, T, C, H, W) with ``factors`` (N, K).

    ``model`` has the clip-model hooks (:class:`gwrep.models.sequence.SequenceModel`);
    ``judge.predict`` maps clips to factor classes. Returns ``"{mode}.{factor}"`` for each
    mode of :data:`MODES` and factor, ``"{mode}.static_mean"`` / ``"{mode}.dynamic_mean"``,
    ``"real.*"`` (the judge on the real clips), ``"chance.*"`` and the settings.
    """
    factors = torch.as_tensor(np.asarray(factors), dtype=torch.long)
    was_training = model.training
    model.eval()
    gen = torch.Generator(device=model.device).manual_seed(seed)
    out: dict[str, Any] = {}
    groups = {"static": list(static_factors), "dynamic": list(dynamic_factors)}

    def record(prefix: str, acc: np.ndarray) -> None:
        for k, name in enumerate(factor_names):
            out[f"{prefix}.{name}"] = float(acc[k])
        for group, idx in groups.items():
            out[f"{prefix}.{group}_mean"] = float(np.mean(acc[idx]))

    try:
        record("real", factor_accuracy(judge.predict(clips), factors))
        for mode in MODES:
            made = torch.cat([_generate(model, chunk, mode, gen) for chunk in clips.split(batch_size)])
            record(mode, factor_accuracy(judge.predict(made), factors))
    finally:
        model.train(was_training)
    record("chance", 1.0 / np.asarray(factor_sizes, dtype=np.float64))
    out.update({"num_clips": len(clips), "settings.seed": seed,
                "static_factors": [factor_names[k] for k in static_factors],
                "dynamic_factors": [factor_names[k] for k in dynamic_factors]})
    return out


#: Headline numbers of a sequence run for eval.json's summary (``gwrep compare`` reads them).
HEADLINE = {
    "fix_f_static_acc": "fix_f.static_mean",  # f kept: appearance must survive
    "fix_z_dynamic_acc": "fix_z.dynamic_mean",  # z kept: motion must survive
    "fix_f_dynamic_acc": "fix_f.dynamic_mean",  # leakage of motion into f
    "fix_z_static_acc": "fix_z.static_mean",  # leakage of appearance into z
    "recon_static_acc": "reconstruction.static_mean",
    "recon_dynamic_acc": "reconstruction.dynamic_mean",
    "judge_real_acc_static": "real.static_mean",
    "judge_real_acc_dynamic": "real.dynamic_mean",
}


def evaluate_sequence_run(run: Any, model: Any, root: str | None, args: argparse.Namespace,
                          weights: dict[str, Any] | None = None) -> int:
    """``gwrep eval`` on a clip model's run: judge accuracies into ``RUN/eval.json``, figures into ``RUN/figures``.

    The judge is trained on the run's training split (``args.seed``), scored on the test
    split; ``--fast`` uses :data:`JUDGE_FAST`. ``weights`` (what was scored: the step of the
    weights, :func:`gwrep.runs.scored_weights`) is recorded in eval.json.
    """
    from gwrep import data as gdata
    from gwrep.runs import run_path, write_json
    from gwrep.config import read_json_file

    cfg = run.config
    if getattr(args, "metrics", None):
        raise ValueError(f"{run.dir} is a clip model's run: gwrep eval gives the judge-classifier evaluation; "
                         f"--metrics {' '.join(args.metrics)} are image metrics and do not apply")
    settings = dict(JUDGE_FAST if args.fast else JUDGE_DEFAULTS)
    train = gdata.load(cfg.data, root=root, split="train", **cfg.data_options)
    test = gdata.load(cfg.data, root=root, split="test", **cfg.data_options)
    data = test.factor_data
    start = time.perf_counter()
    judge, judge_file = cached_judge(train, {"data": cfg.data, "data_options": cfg.data_options, "root": root},
                                     seed=args.seed, **{k: v for k, v in settings.items() if k.startswith("judge_")})
    judge_seconds = time.perf_counter() - start
    n = len(test) if settings["num_test"] is None else min(settings["num_test"], len(test))
    clips, factors = test.get_batch(np.arange(n))
    start = time.perf_counter()
    result = judge_scores(model, clips, factors, judge, factor_names=data.factor_names,
                          static_factors=data.static_factors, dynamic_factors=data.dynamic_factors,
                          factor_sizes=data.factor_sizes, seed=args.seed)
    result.update({f"settings.{k}": v for k, v in settings.items()})
    result["judge_file"] = str(judge_file)
    timing = {"judge_training": round(judge_seconds, 3), "sequence_judge": round(time.perf_counter() - start, 3)}
    for mode in ("real", *MODES, "chance"):
        shown = "  ".join(f"{name}={result[f'{mode}.{name}']:.3f}" for name in data.factor_names)
        print(f"{mode:<15} {shown}")
    # the swap figure's second clip differs from the first in every factor (when one does), so both swaps show
    other = np.flatnonzero((factors.numpy() != factors[0].numpy()).all(1))
    order = np.concatenate([[0], other[:1], np.setdiff1d(np.arange(len(clips)), np.r_[0, other[:1]])])[:8]
    figures = save_sequence_figures(model, clips[order], run.dir / "metrics.jsonl", run.dir / "figures",
                                    seed=args.seed)
    for path in figures:
        print(f"wrote {path}")
    path = run.dir / "eval.json"
    previous = read_json_file(path) if path.is_file() else {}
    metrics = {**previous.get("metrics", {}), "sequence_judge": result}
    document = {
        "run": run_path(run), "model": cfg.model, "data": cfg.data, "data_options": cfg.data_options, "seed": cfg.seed,
        "weights": weights, "metric_steps": {"sequence_judge": None if weights is None else weights["step"]},
        "metrics": metrics,
        "summary": {k: float(result[key]) for k, key in HEADLINE.items()},
        "skipped": {"factor metrics, psnr, fid": "a clip model: the judge-classifier evaluation of Li & Mandt 2018"},
        "notes": {"sequence_judge": "fix_f keeps f and draws z from the prior (static factors should survive); "
                                    "fix_z keeps z and draws f (dynamic factors should survive); chance = 1/size"},
        "settings": {"eval_seed": args.seed, "fast": args.fast, "test_clips": n, **settings},
        "timing_s": {**previous.get("timing_s", {}), **timing},
        "files": {p.stem: f"figures/{p.name}" for p in figures},
    }
    write_json(path, document)
    print(f"wrote {path}")
    return 0


# ------------------------------------------------------------------------------------------- figures
def _clip_rows_figure(rows: list[tuple[str, Tensor]], title: str, path: str | os.PathLike) -> Path:
    """One labelled row per clip (T, C, H, W) in [0, 1]; returns the path written."""
    from matplotlib.figure import Figure

    from gwrep.eval.figures import image_grid

    frames = rows[0][1].shape[0]
    grid = image_grid(torch.cat([clip.detach().cpu() for _, clip in rows]), ncols=frames)
    h, w = rows[0][1].shape[-2] + 2, rows[0][1].shape[-1] + 2
    fig = Figure(figsize=(frames * 0.9 + 2.6, len(rows) * 0.9 + 1.0))
    ax = fig.add_subplot()
    ax.imshow(grid[..., 0] if grid.shape[-1] == 1 else grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks([r * h + h / 2 - 1 for r in range(len(rows))], [label for label, _ in rows], fontsize=8)
    ax.set_xticks([t * w + w / 2 - 1 for t in range(frames)], [f"t={t + 1}" for t in range(frames)], fontsize=8)
    ax.set_title(title, fontsize=9)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path


def _name(model: Any) -> str:
    return getattr(model, "registry_name", "") or type(model).__name__


@torch.no_grad()
def save_swap_figure(model: Any, a: Tensor, b: Tensor, path: str | os.PathLike) -> Path:
    """Clips ``a`` and ``b`` (T, C, H, W), their reconstructions, and the two swaps f_a + z_b, f_b + z_a."""
    was_training = model.training
    model.eval()
    x = torch.stack([a, b]).to(model.device)
    f, _ = model.encode_static(x)
    z, _ = model.encode_dynamic(x, f)
    recon = model.decode_clip(f, z).cpu()
    swapped = model.decode_clip(f, z.flip(0)).cpu()  # row 0: f_a with z_b; row 1: f_b with z_a
    model.train(was_training)
    rows = [("A", a), ("B", b), ("recon A", recon[0]), ("recon B", recon[1]),
            ("f of A, z of B", swapped[0]), ("f of B, z of A", swapped[1])]
    return _clip_rows_figure(rows, f"{_name(model)}: swap of static f and dynamic z between two clips", path)


@torch.no_grad()
def save_resampled_figure(model: Any, x: Tensor, path: str | os.PathLike, n: int = 3, seed: int = 0) -> Path:
    """A clip, ``n`` clips with its f kept and z drawn from the prior, ``n`` with its z kept and f drawn."""
    was_training = model.training
    model.eval()
    gen = torch.Generator(device=model.device).manual_seed(seed)
    x = x[:1].to(model.device)
    f, _ = model.encode_static(x)
    z, _ = model.encode_dynamic(x, f)
    fix_f = model.decode_clip(f.expand(n, -1), model.sample_dynamic(n, generator=gen)).cpu()
    fix_z = model.decode_clip(model.sample_static(n, generator=gen), z.expand(n, -1, -1)).cpu()
    model.train(was_training)
    rows = [("input", x[0].cpu())] + [(f"f kept, z ~ p #{i + 1}", c) for i, c in enumerate(fix_f)] + \
        [(f"z kept, f ~ p #{i + 1}", c) for i, c in enumerate(fix_z)]
    return _clip_rows_figure(rows, f"{_name(model)}: f kept (appearance should stay) / z kept (motion should stay)",
                             path)


@torch.no_grad()
def save_f_traversal(model: Any, x: Tensor, path: str | os.PathLike, n_values: int = 7, max_dims: int = 8,
                     frame: int = 0) -> Path:
    """Traversal of the static code: rows = the ``max_dims`` dimensions of f whose posterior means vary most
    over ``x``, columns = values from -2 to 2 (the prior N(0, 1)); z is ``x[0]``'s, each cell shows ``frame``."""
    from matplotlib.figure import Figure

    from gwrep.eval.figures import image_grid

    if model.static_dim == 0:
        raise ValueError(f"{_name(model)} has no static code to traverse")
    was_training = model.training
    model.eval()
    x = x.to(model.device)
    f, _ = model.encode_static(x)
    z, _ = model.encode_dynamic(x[:1], f[:1])
    dims = f.var(0).argsort(descending=True)[:max_dims].tolist() if len(x) > 1 else list(range(min(max_dims,
                                                                                                   f.shape[1])))
    values = torch.linspace(-2.0, 2.0, n_values, device=model.device)
    codes = f[:1].repeat(len(dims) * n_values, 1).view(len(dims), n_values, -1)
    for r, d in enumerate(dims):
        codes[r, :, d] = values
    clips = model.decode_clip(codes.flatten(0, 1), z.expand(len(dims) * n_values, -1, -1))[:, frame].cpu()
    model.train(was_training)
    fig = Figure(figsize=(n_values * 0.9 + 1.4, len(dims) * 0.9 + 1.0))
    ax = fig.add_subplot()
    grid = image_grid(clips, ncols=n_values)
    ax.imshow(grid[..., 0] if grid.shape[-1] == 1 else grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    h, w = clips.shape[-2] + 2, clips.shape[-1] + 2
    ax.set_yticks([r * h + h / 2 - 1 for r in range(len(dims))], [f"f{d}" for d in dims], fontsize=8)
    ax.set_xticks([c * w + w / 2 - 1 for c in range(n_values)], [f"{v:.1f}" for v in values.tolist()], fontsize=8)
    ax.set_xlabel(f"value of the dimension (z of the first clip; frame {frame + 1} shown)", fontsize=9)
    ax.set_title(f"{_name(model)}: traversal of the static code f ({len(dims)} most varying of {f.shape[1]} dims)",
                 fontsize=9)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path


def save_sequence_figures(model: Any, x: Tensor, metrics_jsonl_path: str | os.PathLike, out_dir: str | os.PathLike,
                          seed: int = 0) -> list[Path]:
    """The figures of a clip model's run from clips ``x`` (N >= 2, T, C, H, W): swap, resampled, traversal of f
    (models with a static code), loss curves (when the metrics file has entries)."""
    from gwrep.eval.figures import save_loss_curves
    from gwrep.train.run import read_metrics

    if x.ndim != 5 or len(x) < 2:
        raise ValueError(f"the sequence figures need at least two clips (N, T, C, H, W); got shape {tuple(x.shape)}")
    out_dir = Path(out_dir)
    paths = [save_swap_figure(model, x[0], x[1], out_dir / "swap.png"),
             save_resampled_figure(model, x, out_dir / "resampled.png", seed=seed)]
    if model.static_dim > 0:
        paths.append(save_f_traversal(model, x, out_dir / "f_traversal.png"))
    if Path(metrics_jsonl_path).is_file() and any(r.get("split") for r in read_metrics(metrics_jsonl_path)):
        paths.append(save_loss_curves(metrics_jsonl_path, out_dir / "loss_curves.png"))
    return paths
