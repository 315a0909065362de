"""Sweeps: a grid of training runs (models x seeds x option values), one run folder each.

Runs go one after the other in this process (or, with ``backend="ray"`` and the ``ray``
extra installed, as Ray tasks: on a local Ray instance, or on the cluster that
``RAY_ADDRESS`` / ``ray_address`` names, whose workers must see the sweep folder and the
data at the same absolute paths, i.e. shared storage). ``SWEEP/sweep.json`` indexes them:
name, folder, the options that vary, status, steps and best validation loss. Running the
same sweep again skips finished runs and resumes unfinished ones, so an interrupted sweep
just restarts; a completed run is resumed when the sweep now plans more steps (or epochs)
than it trained, and an early-stopped one is kept with a line saying so. No run folder, or
file in one, may be a symbolic link leading out of the sweep folder. Each training invocation appends the machine it ran on to
``RUN/machine.json`` (host, CPU, threads, device, steps from/to, minutes).
"""
from __future__ import annotations

import itertools
import json
import os
import re
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from gwrep.config import atomic_write_text, read_json_file
from gwrep.train.config import TrainConfig
from gwrep.integrity import refuse_links_out
from gwrep.train.run import CHECKPOINT_DIR, CONFIG_FILE, SUMMARY_FILE

__all__ = ["SweepPoint", "expand_grid", "run_sweep", "set_dotted", "machine_info", "ray_task_resources", "ray_tasks",
           "SWEEP_FILE", "MACHINE_FILE", "FINISHED"]

SWEEP_FILE = "sweep.json"
#: Per-run record of the machines that trained it, one entry per training invocation.
MACHINE_FILE = "machine.json"
#: Run statuses a restarted sweep does not train again.
FINISHED = ("completed", "early_stopped")


def set_dotted(options: dict[str, Any], key: str, value: Any) -> None:
    """Set ``options["a"]["b"] = value`` for ``key = "a.b"`` (creating the inner dict).

    >>> o = {"model_options": {"lr": 1}}
    >>> set_dotted(o, "model_options.beta", 4); o
    {'model_options': {'lr': 1, 'beta': 4}}
    """
    head, _, rest = key.partition(".")
    if not rest:
        options[head] = value
        return
    inner = options.setdefault(head, {})
    if not isinstance(inner, dict):
        raise ValueError(f"cannot set {key!r}: {head!r} is {inner!r}, not a mapping")
    set_dotted(inner, rest, value)


def _slug(value: Any) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", str(value)).strip("_") or "x"


class SweepPoint:
    """One run of a sweep: its folder name, the varied options, the full TrainConfig options."""

    def __init__(self, name: str, overrides: dict[str, Any], options: dict[str, Any]):
        self.name, self.overrides, self.options = name, overrides, options

    def __repr__(self) -> str:
        return f"SweepPoint({self.name!r}, {self.overrides!r})"


def expand_grid(base: Mapping[str, Any], models: Sequence[str] = (), seeds: Sequence[int] = (),
                grid: Mapping[str, Sequence[Any]] | None = None) -> list[SweepPoint]:
    """The runs of a grid: every combination of ``models``, ``grid`` values and ``seeds``.

    ``grid`` keys are TrainConfig fields or dotted options (``"model_options.beta"``).
    Each point's options are validated as a :class:`TrainConfig` (bad values fail here,
    before any run starts). Folder names read ``<model>-<option>=<value>...-s<seed>``,
    e.g. ``vae-batch_size=32-s0``.
    """
    grid = dict(grid or {})
    for key, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ValueError(f"grid values of {key!r} must be a non-empty list, got {values!r}")
    models = list(models) or [base.get("model", TrainConfig.model)]
    seeds = list(seeds) or [base.get("seed", TrainConfig.seed)]
    points, names = [], set()
    for model in models:
        for values in itertools.product(*grid.values()):
            for seed in seeds:
                options = json.loads(json.dumps(dict(base)))
                options.pop("_class", None)
                options["model"], options["seed"] = model, seed
                overrides = {"model": model, **dict(zip(grid, values)), "seed": seed}
                for key, value in zip(grid, values):
                    set_dotted(options, key, value)
                parts = [_slug(model)] + [f"{_slug(k.rsplit('.', 1)[-1])}={_slug(v)}" for k, v in zip(grid, values)]
                name = "-".join(parts + [f"s{seed}"])
                if name in names:
                    raise ValueError(f"two sweep points share the folder name {name!r}; make the grid values distinct")
                names.add(name)
                TrainConfig.from_dict({**options, "out": None})  # validate now
                points.append(SweepPoint(name, overrides, options))
    return points


def machine_info(device: str = "auto") -> dict[str, Any]:
    """What this process trains on: host, CPU model and count, torch threads, device (and GPU name).

    >>> sorted(machine_info("cpu"))
    ['cpu', 'cpu_count', 'device', 'host', 'torch_threads']
    """
    import platform

    import torch

    from gwrep.train.config import resolve_device

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    dev = resolve_device(device)
    info = {"host": platform.node(), "cpu": cpu, "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "device": str(dev)}
    if dev.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(dev)
    return info


def _record_machine(run_dir: Path, device: str, step_before: int, summary: Mapping[str, Any],
                    minutes_before: float) -> None:
    """Append this invocation (machine, steps from -> to, minutes, status) to ``RUN/machine.json``."""
    path = run_dir / MACHINE_FILE
    entries = read_json_file(path).get("invocations", []) if path.is_file() else []
    entries.append({**machine_info(device), "from_step": step_before, "to_step": summary.get("step"),
                    "minutes": round(float(summary.get("minutes", minutes_before)) - minutes_before, 3),
                    "status": summary.get("status")})
    atomic_write_text(path, json.dumps({"invocations": entries}, indent=2) + "\n")


def _train_point(options: dict[str, Any], resume: bool, progress: bool | None,
                 datasets: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Train one point; returns its summary (status ``failed`` with the message on NaN/inf).

    The invocation is appended to ``RUN/machine.json`` when the run folder exists afterwards.
    """
    from gwrep.models.base import NonFiniteLossError
    from gwrep.train.trainer import train

    run_dir = Path(options["out"])
    before = read_json_file(run_dir / SUMMARY_FILE) if resume and (run_dir / SUMMARY_FILE).is_file() else {}
    try:
        summary = dict(train(options, resume=resume, progress=progress, **(datasets or {})).summary)
    except NonFiniteLossError as err:
        summary = {"status": "failed", "message": str(err)}
    if run_dir.is_dir():
        _record_machine(run_dir, options.get("device", "auto"), int(before.get("step", 0)),
                        {**read_json_file(run_dir / SUMMARY_FILE), **summary} if (run_dir / SUMMARY_FILE).is_file()
                        else summary, float(before.get("minutes", 0.0)))
    return summary


def _previous(run_dir: Path) -> tuple[str | None, bool]:
    """(status of an earlier attempt or None, whether it has a checkpoint to resume)."""
    summary = run_dir / SUMMARY_FILE
    status = read_json_file(summary).get("status") if summary.is_file() else None
    return status, (run_dir / CHECKPOINT_DIR / "last.pt").is_file()


def _extend(point: SweepPoint, run_dir: Path, status: str) -> bool:
    """Whether a finished run is to be trained further: it completed its steps and the sweep now plans more
    (a larger ``steps`` than the steps it did, or more ``epochs`` than its config.json). An early-stopped
    run (or one ``finished`` counts done on its time budget) is not extended, and a line says so."""
    stored = TrainConfig.load(run_dir / CONFIG_FILE)
    done = int(read_json_file(run_dir / SUMMARY_FILE).get("step", 0))
    steps, epochs = point.options.get("steps"), point.options.get("epochs")
    more = ((steps is not None and int(steps) > done) or
            (epochs is not None and stored.epochs is not None and int(epochs) > stored.epochs))
    if not more:
        return False
    plan = f"{steps} steps" if steps is not None else f"{epochs} epochs"
    if status != "completed":
        why = {"early_stopped": "its patience ran out, and more steps would stop it again at the next validation",
               "time_budget": "it stopped on its time budget (max_minutes)"}.get(status, status)
        print(f"{point.name}: kept as it is at step {done}, not extended to the {plan} now planned: {why}; "
              "remove its folder to train it anew")
        return False
    print(f"{point.name}: completed {done} steps; resuming it to the {plan} now planned")
    return True


def run_sweep(points: Sequence[SweepPoint], out_dir: str | os.PathLike, backend: str = "sequential",
              progress: bool | None = None, dataset: Any = None, val_dataset: Any = None,
              finished: Sequence[str] = FINISHED, ray_address: str | None = None) -> list[dict[str, Any]]:
    """Train every point into ``out_dir/<name>``; writes and returns the ``sweep.json`` records.

    ``dataset``/``val_dataset`` replace loading each point's ``data`` (as in
    :func:`gwrep.train.train`; sequential backend only). Runs whose ``run.json`` status is
    in ``finished`` are not trained again (``gwrep experiment`` adds ``"time_budget"``: a run
    that spent its stated budget is done). ``ray_address``: the Ray cluster to join (default:
    ``RAY_ADDRESS``, else a local instance).

    A Ctrl-C stops the sweep after saving the current run's checkpoint; run it again to
    continue. A run that fails on a non-finite loss is recorded and the sweep goes on.
    """
    if backend not in ("sequential", "ray"):
        raise ValueError(f"unknown sweep backend {backend!r}; choose 'sequential' or 'ray'")
    if backend == "ray" and (dataset is not None or val_dataset is not None):
        raise ValueError("the ray backend loads each point's data by name; pass no dataset objects")
    datasets = {k: v for k, v in (("dataset", dataset), ("val_dataset", val_dataset)) if v is not None}
    out_dir = Path(out_dir).resolve() if backend == "ray" else Path(out_dir)  # Ray workers have their own cwd
    out_dir.mkdir(parents=True, exist_ok=True)
    refuse_links_out(out_dir, "sweep folder")  # no run folder (or file in one) may lead out of it
    records: list[dict[str, Any]] = []
    jobs = []
    for point in points:
        run_dir = out_dir / point.name
        status, resumable = _previous(run_dir)
        record = {"name": point.name, "dir": str(run_dir), "overrides": point.overrides}
        if status in finished and not _extend(point, run_dir, status):
            # "skipped": this call did not train it (an experiment counts the runs it trained)
            records.append({**record, **_summary_fields(read_json_file(run_dir / SUMMARY_FILE)), "skipped": True})
            continue
        options = {**point.options, "out": str(run_dir)}
        if backend == "ray" and options.get("data_root"):
            options["data_root"] = str(Path(options["data_root"]).expanduser().resolve())
        jobs.append((record, options, resumable))
        records.append(record)
    _write_index(out_dir, records)
    if backend == "ray" and jobs:
        results = _run_with_ray([(opts, resumable) for _, opts, resumable in jobs], ray_address)
        for (record, _, _), summary in zip(jobs, results):
            record.update(_summary_fields(summary))
        _write_index(out_dir, records)
    if backend == "ray":
        return records
    for record, options, resumable in jobs:
        summary = _train_point(options, resumable, progress, datasets)
        record.update(_summary_fields(summary))
        _write_index(out_dir, records)
        if summary.get("status") == "interrupted":
            break
    return records


def _summary_fields(summary: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("status", "step", "best_val_loss", "best_step", "minutes", "message")
    return {k: summary[k] for k in keys if k in summary}


def _write_index(out_dir: Path, records: list[dict[str, Any]]) -> None:
    atomic_write_text(out_dir / SWEEP_FILE, json.dumps({"runs": records}, indent=2) + "\n")


def ray_task_resources(device: str, cluster_gpus: float) -> dict[str, float]:
    """Ray resources of one training task: one CPU, plus one GPU when the run trains on CUDA
    (``device`` ``"cuda"``/``"cuda:N"``, or ``"auto"`` on a cluster that has GPUs).

    >>> ray_task_resources("cpu", 8), ray_task_resources("cuda:1", 0), ray_task_resources("auto", 2)
    ({'num_cpus': 1}, {'num_cpus': 1, 'num_gpus': 1}, {'num_cpus': 1, 'num_gpus': 1})
    """
    wants_gpu = device.startswith("cuda") or (device == "auto" and cluster_gpus > 0)
    return {"num_cpus": 1, **({"num_gpus": 1} if wants_gpu else {})}


def ray_tasks(task: Any, calls: Sequence[tuple[tuple[Any, ...], str, str]], address: str | None = None,
              backend: str = "sweep") -> Iterator[tuple[int, Any]]:
    """Run ``task(*args)`` for each ``(args, device, run)`` of ``calls`` as a Ray task (:func:`ray_task_resources`
    of its device) and yield ``(index in calls, result)`` as each finishes; needs ``pip install 'gwrep[ray]'``.

    Joins the cluster at ``address`` (else ``RAY_ADDRESS``, else starts a local instance). A task's
    CUDA device is the GPU Ray assigns it (Ray sets ``CUDA_VISIBLE_DEVICES``); a CUDA run on a
    cluster without GPUs is a ``ValueError`` naming ``run``. ``backend`` names the caller in errors.
    """
    try:
        import ray
    except ImportError:
        raise ValueError(f"the ray {backend} backend needs Ray: pip install 'gwrep[ray]' (or use --backend "
                         f"sequential)") from None
    ray.init(address=address or os.environ.get("RAY_ADDRESS") or None, ignore_reinit_error=True, log_to_driver=True)
    gpus = float(ray.cluster_resources().get("GPU", 0))
    resources = [ray_task_resources(device, gpus) for _, device, _ in calls]
    for (_, device, run), needs in zip(calls, resources):  # refuse before any task starts, not part-way
        if needs.get("num_gpus") and not gpus:
            raise ValueError(f"run {run} trains on {device!r} but the Ray cluster has no GPU")
    remote = ray.remote(task)
    index = {remote.options(**needs).remote(*args): i for i, ((args, _, _), needs) in enumerate(zip(calls, resources))}
    pending = list(index)
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        yield index[ready[0]], ray.get(ready[0])


def _run_with_ray(jobs: list[tuple[dict[str, Any], bool]], address: str | None = None) -> list[dict[str, Any]]:
    """Train the jobs as Ray tasks (:func:`ray_tasks`); their summaries in the order of ``jobs``."""
    results: list[dict[str, Any]] = [{} for _ in jobs]
    calls = [((options, resumable, False), str(options.get("device", "auto")), options["out"])
             for options, resumable in jobs]
    for i, summary in ray_tasks(_train_point, calls, address):
        results[i] = summary
    return results
