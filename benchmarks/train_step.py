"""Train-step cost of GWAE against beta-VAE with the same nets and batch (issues 5 and 12).

Times one full training step (for GWAE: the critic's inner updates plus the main update)
of each variant on a batch of 64 random 64x64x3 images with the GWAE authors' nets (z = 64,
as the authors' CelebA setting), and reports time per step, images per second, the time
ratio to beta-VAE in one run (the authors' code: about 9x their VAE step; goal <= 3x) and
the peak memory. Variants:

- ``beta-vae``: the reference, ``build_model("beta-vae", architecture="gwae")``.
- ``gwae``: this package's GWAE (critic loop without graphs, prior samples decoded once
  per main step, one decoder pass for posterior and prior codes, critic frozen in the
  main step).
- ``gwae-no-share``: graph-free critic steps on their own no-grad pass; the main loss runs
  its own generator pass (less peak memory, one more decoder pass).
- ``gwae-resample``: like ``gwae``, but fresh prior samples decoded in each critic step
  (the authors' sampling, without their graphs).
- ``gwae-authors-loop``: the authors' step structure ("before"): each of the 5 critic
  steps re-runs reparameterisation, two decoder passes and the prior with autograd graphs
  it then throws away, the main step decodes posterior and prior codes separately and
  backpropagates into the critic's weights too.
- ``gwae-mmd``: the MMD ablation (no critic).
- ``floor-critic``: the 5 critic updates alone (forward on the 2N pairs, gradient penalty,
  backward, RMSprop) on fixed precomputed inputs: no encoder, prior or decoder pass.
- ``floor-main``: the main update alone (encoder, prior, one decoder pass, the losses, the
  backward pass and RMSprop), no critic updates.
  ``floor-critic + floor-main`` is the floor of a GWAE step at the authors' defaults: work
  any implementation of the algorithm does. The table reports ``gwae`` against it.

Times are taken round-robin in one process (one step of each variant in turn, so a
change in machine load hits every variant alike); the median per variant is reported.
Peak memory is measured for each variant in its own process, so it is its own: the
resident-set peak (``resource.getrusage``) minus the resident set before the first step,
and on a GPU ``torch.cuda.max_memory_allocated``. Writes JSON to ``benchmarks/results/train_step.json``
and prints a table.

    python benchmarks/train_step.py                 # CPU (or CUDA when there), 1 thread
    python benchmarks/train_step.py --steps 20 --device cuda
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

VARIANTS = ["beta-vae", "gwae", "gwae-no-share", "gwae-resample", "gwae-authors-loop", "gwae-mmd",
            "floor-critic", "floor-main"]
FLOOR = ("floor-critic", "floor-main")
RESULTS = Path(__file__).resolve().parent / "results"


def _authors_loop_class():
    """GWAE with the authors' step structure, the "before" of the critic-loop optimisation."""
    import gwrep.ot as gwot
    from gwrep.models.gwae import GWAE, critic_objective, wasserstein_reconstruction
    from gwrep.models.losses import gaussian_entropy_term, reparameterize

    class AuthorsLoopGWAE(GWAE):
        def loss_terms(self, x):
            c, n = self.config, x.shape[0]
            mean, logvar = self.encode(x)
            z_q = reparameterize(mean, logvar)
            logits_q = self.decode_logits(z_q)
            z_p = self.prior(n)
            x_p = self.decode(z_p)
            d = self.critic(x_p, z_p).mean() - self.critic(x, z_q).mean()  # critic not frozen
            return {"gw": gwot.gwae_gw_loss(x_p, z_p, self.log_beta),
                    "w": wasserstein_reconstruction(x, logits_q, c.reconstruction_kind),
                    "d": d, "h": gaussian_entropy_term(logvar)}

        def inner_updates(self, x):
            c, n = self.config, x.shape[0]
            mean, logvar = self.encode(x)  # with a graph, as the authors
            opt = self.optimizers["critic"]
            for _ in range(c.critic_steps):
                z_q = reparameterize(mean, logvar)
                self.decode(z_q)  # the authors decode the posterior codes here and never use them
                z_p = self.prior(n)
                x_p = self.decode(z_p)
                loss, logs = critic_objective(self.critic, x, z_q.detach(), x_p.detach(), z_p.detach(),
                                              c.gp_coef, c.critic_drift)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            return {k: float(v) for k, v in logs.items()}

    return AuthorsLoopGWAE


def build(variant: str, image_shape: tuple[int, int, int], latent_dim: int):
    from gwrep.models import build_model
    from gwrep.models.gwae import GWAEConfig

    common = {"image_shape": image_shape, "latent_dim": latent_dim, "architecture": "gwae"}
    if variant == "beta-vae":
        return build_model("beta-vae", **common)
    if variant in ("gwae", *FLOOR):
        return build_model("gwae", **common)
    if variant == "gwae-no-share":
        return build_model("gwae", share_generator_pass=False, **common)
    if variant == "gwae-resample":
        return build_model("gwae", critic_resample=True, **common)
    if variant == "gwae-mmd":
        return build_model("gwae", divergence="mmd", **common)
    if variant == "gwae-authors-loop":
        model = _authors_loop_class()(GWAEConfig(**common))
        model.registry_name = "gwae"
        return model
    raise ValueError(f"unknown variant {variant!r}; choose one of {VARIANTS}")


def critic_updates_alone(model, x, fixed: dict) -> None:
    """The ``critic_steps`` critic updates of one GWAE step on fixed generator outputs (the floor's critic part)."""
    from torch.nn.utils import parametrize

    from gwrep.models.gwae import critic_objective

    c = model.config
    if not fixed:
        with torch.no_grad():
            mean, logvar = model.encode(x)
            x_p, z_p = model._generative_pairs(x.shape[0])
        fixed.update(mean=mean, std=torch.exp(0.5 * logvar), x_p=x_p, z_p=z_p)
    for _ in range(c.critic_steps):
        z_q = fixed["mean"] + fixed["std"] * torch.randn_like(fixed["std"])
        with parametrize.cached():
            loss, logs = critic_objective(model.critic, x, z_q, fixed["x_p"], fixed["z_p"], c.gp_coef, c.critic_drift)
        model.optimizer_step("critic", loss, logs)


def main_update_alone(model, x) -> None:
    """GWAE's main update without critic updates (its own generator pass; the floor's main part)."""
    model.train()
    loss, terms = model.loss(x)
    model.optimizer_step("main", loss, terms)


def step_function(variant: str, model, x):
    """What one timed step of ``variant`` runs."""
    if variant == "floor-critic":
        fixed: dict = {}
        return lambda: critic_updates_alone(model, x, fixed)
    if variant == "floor-main":
        return lambda: main_update_alone(model, x)
    return lambda: model.training_step(x)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _setup(args: argparse.Namespace):
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    shape = (args.channels, args.size, args.size)
    x = torch.rand(args.batch, *shape, generator=torch.Generator().manual_seed(1)).to(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    return device, shape, x, sync


def time_round_robin(args: argparse.Namespace) -> dict[str, list[float]]:
    """Step times of every variant, interleaved step by step so load changes hit all alike."""
    device, shape, x, sync = _setup(args)
    steps = {}
    for variant in args.variants:
        torch.manual_seed(0)
        steps[variant] = step_function(variant, build(variant, shape, args.latent).to(device), x)
    times: dict[str, list[float]] = {v: [] for v in args.variants}
    for step in range(args.warmup + args.steps):
        for variant, run_step in steps.items():
            sync()
            start = time.perf_counter()
            run_step()
            sync()
            if step >= args.warmup:
                times[variant].append(time.perf_counter() - start)
    return times


def measure_memory(variant: str, args: argparse.Namespace) -> dict:
    """In a fresh process: peak memory of a few steps of ``variant`` above the resident set before them."""
    device, shape, x, sync = _setup(args)
    torch.manual_seed(0)
    model = build(variant, shape, args.latent).to(device)
    model.optimizers  # noqa: B018  (built before the baseline RSS is read)
    rss_before = _rss_bytes()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    run_step = step_function(variant, model, x)
    for _ in range(3):
        run_step()
    sync()
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    out = {"peak_rss_increase_mb": max(0, peak_rss - rss_before) / 2**20, "peak_rss_mb": peak_rss / 2**20}
    if device.type == "cuda":
        out["cuda_max_allocated_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=VARIANTS, choices=VARIANTS)
    parser.add_argument("--steps", type=int, default=8, help="timed steps per variant")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=64, choices=[28, 64])
    parser.add_argument("--channels", type=int, default=3, choices=[1, 3])
    parser.add_argument("--latent", type=int, default=64, help="z size (64: the authors' CelebA setting)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", type=Path, help="JSON path (default results/train_step-<device>-<threads>t.json)")
    parser.add_argument("--no-memory", action="store_true", help="skip the per-variant memory processes")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = RESULTS / f"train_step-{args.device}-{args.threads}t.json"
    if args.memory_child:
        print(json.dumps(measure_memory(args.memory_child, args)))
        return 0

    memory = {v: {"peak_rss_increase_mb": float("nan"), "peak_rss_mb": float("nan")} for v in args.variants}
    for variant in ([] if args.no_memory else args.variants):
        cmd = [sys.executable, __file__, "--memory-child", variant, *_forward(args)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"variant {variant} failed:\n{proc.stderr}")
        memory[variant] = json.loads(proc.stdout.strip().splitlines()[-1])
    times = time_round_robin(args)
    rows = [{"variant": v, "median_s": statistics.median(t), "min_s": min(t), "mean_s": statistics.fmean(t),
             "times_s": t, **memory[v]} for v, t in times.items()]
    ref = times.get("beta-vae")
    for r in rows:
        r["images_per_s"] = args.batch / r["median_s"]
        # ratio of medians, and the median of the per-round ratios (steps taken side by side)
        r["ratio_to_beta_vae"] = r["median_s"] / statistics.median(ref) if ref else None
        r["ratio_per_round_median"] = statistics.median(a / b for a, b in zip(r["times_s"], ref)) if ref else None
    result = {"benchmark": "train_step", "device": args.device, "threads": args.threads,
              "torch": torch.__version__, "platform": platform.platform(), "batch": args.batch,
              "image_shape": [args.channels, args.size, args.size], "latent_dim": args.latent,
              "steps": args.steps, "warmup": args.warmup, "goal_ratio": 3.0, "authors_ratio": "about 9",
              "results": rows}
    med = {r["variant"]: r["median_s"] for r in rows}
    if all(v in med for v in FLOOR):
        floor = sum(med[v] for v in FLOOR)
        result["floor_s"] = floor
        result["floor_ratio_to_beta_vae"] = floor / med["beta-vae"] if "beta-vae" in med else None
        result["critic_updates_in_vae_steps"] = med["floor-critic"] / med["beta-vae"] if "beta-vae" in med else None
        result["gwae_over_floor"] = med["gwae"] / floor if "gwae" in med else None
    if args.device.startswith("cuda"):
        result["gpu"] = torch.cuda.get_device_name()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    _print_table(result)
    print(f"wrote {args.out}")
    return 0


def _forward(args: argparse.Namespace) -> list[str]:
    names = ["steps", "warmup", "batch", "size", "channels", "latent", "threads", "device"]
    return [item for name in names for item in (f"--{name}", str(getattr(args, name)))]


def _print_table(result: dict) -> None:
    gpu = any("cuda_max_allocated_mb" in r for r in result["results"])
    head = (f"{'variant':<20}{'median s/step':>14}{'min s':>9}{'images/s':>10}{'x beta-VAE':>12}{'x (per round)':>15}"
            f"{'peak RSS +MB':>14}")
    print(f"train step, batch {result['batch']} x {result['image_shape']}, device {result['device']}, "
          f"{result['threads']} thread(s)")
    print(head + (f"{'CUDA peak MB':>14}" if gpu else ""))
    for r in result["results"]:
        ratio = f"{r['ratio_to_beta_vae']:.2f}" if r["ratio_to_beta_vae"] else "-"
        per_round = f"{r['ratio_per_round_median']:.2f}" if r["ratio_per_round_median"] else "-"
        line = (f"{r['variant']:<20}{r['median_s']:>14.3f}{r['min_s']:>9.3f}{r['images_per_s']:>10.1f}{ratio:>12}{per_round:>15}"
                f"{r['peak_rss_increase_mb']:>14.0f}")
        print(line + (f"{r.get('cuda_max_allocated_mb', 0):>14.0f}" if gpu else ""))
    if "floor_s" in result:
        print(f"floor (5 critic updates + main update alone): {result['floor_s']:.3f} s"
              + (f" = {result['floor_ratio_to_beta_vae']:.2f} beta-VAE steps; the critic updates alone = "
                 f"{result['critic_updates_in_vae_steps']:.2f} beta-VAE steps" if result.get('floor_ratio_to_beta_vae') else "")
              + (f"; gwae step / floor = {result['gwae_over_floor']:.3f}" if result.get("gwae_over_floor") else ""))


if __name__ == "__main__":
    sys.exit(main())
