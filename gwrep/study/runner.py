"""Run a study: train every run, score it, compute UDR per cell, write the table and the analyses.

Each run is one task (:func:`study_task`): train it when it is not finished (resuming from its
last checkpoint when it has one), then score it when its scores are missing or out of date
(``RUN/study_scores.json`` holds them with the fingerprint of the settings and weights they
were computed from). A task never raises: a failed run becomes a record with its message,
and the study goes on. Tasks run one after the other here, or as Ray tasks
(``backend="ray"``, one CPU each; ``ray_address`` joins a cluster). Re-running the same
study resumes it: finished and scored runs cost nothing.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from gwrep.config import atomic_write_text, read_json_file

__all__ = ["DONE", "SCORES_FILE", "UDR_CODES_FILE", "StudyProgress", "study_task", "score_study_run",
           "run_study", "udr_by_cell", "data_roots"]

#: Run statuses that count as trained (dlib trains every run its steps; a budget spent also counts).
DONE = ("completed", "early_stopped", "time_budget")
SCORES_FILE = "study_scores.json"
#: Table status of a planned run whose folder does not exist yet.
NOT_RUN = "not run"
UDR_CODES_FILE = "udr_codes.npz"
#: The seed of the inputs every run of a cell encodes for UDR (the same images across seeds).
UDR_INPUT_SEED = 12345
#: Version of how a run is scored, part of the scores' fingerprint: raise it when the scoring code
#: changes what it computes, so a resumed study rescores the runs scored before the change.
#: 2: the reconstruction error on a seeded random sample of the test split (1: its first rows, which
#: are sorted by factor, so nearly one shape on dSprites).
SCORING_VERSION = 2


def _fingerprint(settings: Mapping[str, Any], seed: int, summary: Mapping[str, Any]) -> str:
    text = json.dumps({"version": SCORING_VERSION, "settings": settings, "seed": seed, "step": summary.get("step"),
                       "model_step": summary.get("best_step")}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def resolve_score_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """A study file's ``scores`` (``preset`` plus overrides) as the settings :func:`score_run` takes."""
    from gwrep.experiments import merge
    from gwrep.study import scores

    presets = {"fast": scores.STUDY_FAST, "default": scores.STUDY_DEFAULT}
    preset = settings.get("preset", "default")
    if preset not in presets:
        raise ValueError(f"study scores: unknown preset {preset!r}; choose one of {sorted(presets)}")
    return merge(presets[preset], {k: v for k, v in settings.items() if k != "preset"})


def score_study_run(run_dir: str | os.PathLike, settings: Mapping[str, Any], seed: int = 0,
                    device: str = "cpu") -> dict[str, Any]:
    """Score one trained run (its model in ``RUN/model``) and write ``RUN/study_scores.json`` and the codes UDR
    compares (``RUN/udr_codes.npz``); returns the scores."""
    import numpy as np
    import torch

    import gwrep
    from gwrep import data as gdata
    from gwrep.study.scores import sample_images, score_run, udr_codes
    from gwrep.train import TrainConfig
    from gwrep.train.run import CONFIG_FILE, SUMMARY_FILE

    run_dir = Path(run_dir)
    summary = read_json_file(run_dir / SUMMARY_FILE)
    cfg = TrainConfig.load(run_dir / CONFIG_FILE)
    model = gwrep.load(run_dir, map_location=device).eval()
    test = gdata.load(cfg.data, root=cfg.data_root, split="test", **cfg.data_options)
    factor_data = getattr(test, "factor_data", None)
    if factor_data is None:
        raise ValueError(f"{run_dir}: data set {cfg.data!r} has no ground-truth factors; a study needs them")
    images = sample_images(test, min(len(test), int(settings.get("reconstruction_num", 1000))), seed)
    with torch.inference_mode():
        scores = score_run(model, factor_data, images, dict(settings), seed)
    inputs = factor_data.sample_observations(int(settings.get("udr_num", 1000)), np.random.default_rng(UDR_INPUT_SEED))
    with torch.inference_mode():
        codes = udr_codes(model, inputs)
    tmp = run_dir / f".{UDR_CODES_FILE}.tmp.npz"
    np.savez(tmp, **{k: v for k, v in codes.items() if v is not None})
    os.replace(tmp, run_dir / UDR_CODES_FILE)
    plain = {k: (float(v) if v is not None and math.isfinite(float(v)) else None) for k, v in scores.items()}
    atomic_write_text(run_dir / SCORES_FILE, json.dumps({
        "fingerprint": _fingerprint(settings, seed, summary), "model_step": summary.get("best_step"),
        "step": summary.get("step"), "settings": dict(settings), "seed": seed, "scores": plain}, indent=1) + "\n")
    return plain


def _scores_current(run_dir: Path, settings: Mapping[str, Any], seed: int) -> bool:
    from gwrep.train.run import SUMMARY_FILE

    path = run_dir / SCORES_FILE
    if not path.is_file() or not (run_dir / UDR_CODES_FILE).is_file() or not (run_dir / SUMMARY_FILE).is_file():
        return False
    try:
        stored = read_json_file(path).get("fingerprint")
    except (OSError, ValueError):
        return False
    return stored == _fingerprint(settings, seed, read_json_file(run_dir / SUMMARY_FILE))


def study_task(job: Mapping[str, Any]) -> dict[str, Any]:
    """Train (when ``job["train"]``) and score (when its scores are not current) one run.

    ``job``: ``name``, ``options`` (TrainConfig options with ``out``), ``train``, ``resumable``,
    ``settings`` (score settings), ``seed`` (score seed), ``device``. Returns a record with
    ``status`` (the run's), ``trained``/``scored`` flags, and ``message`` on failure; never
    raises but for a Ctrl-C.
    """
    from gwrep.train.run import SUMMARY_FILE
    from gwrep.train.sweep import _train_point

    run_dir = Path(job["options"]["out"])
    record: dict[str, Any] = {"name": job["name"], "trained": False, "scored": False}
    try:
        if job["train"]:
            summary = _train_point(dict(job["options"]), bool(job["resumable"]), False)
            record["trained"] = True
            if summary.get("status") not in DONE:
                record.update(status=summary.get("status"), message=summary.get("message"))
                return record
        status = read_json_file(run_dir / SUMMARY_FILE).get("status") if (run_dir / SUMMARY_FILE).is_file() else None
        record["status"] = status
        if status in DONE and not _scores_current(run_dir, job["settings"], job["seed"]):
            score_study_run(run_dir, job["settings"], job["seed"], job.get("device") or "cpu")
            record["scored"] = True
    except KeyboardInterrupt:
        raise
    except Exception as err:  # one failed run is recorded and reported; it does not stop the study
        record.update(status="failed", message=f"{type(err).__name__}: {err}")
    return record


@dataclass
class StudyProgress:
    """The study-level progress line: runs done / total, failures, elapsed time and ETA.

    On a terminal the line is redrawn in place; off one each update is a line of its own.

    >>> p = StudyProgress(total=4, already=1, stream=None, clock=iter([0.0, 60.0]).__next__)
    >>> p.update("a", "completed")
    'study: 2/4 runs done | 0 failed | 0:01:00 elapsed | ETA 0:02:00 | a: completed'
    """

    total: int
    already: int = 0
    stream: Any = field(default_factory=lambda: sys.stdout)
    clock: Callable[[], float] = time.monotonic
    failed: int = 0

    def __post_init__(self) -> None:
        self.done = self.already
        self.started = self.clock()

    @staticmethod
    def _clock_text(seconds: float) -> str:
        seconds = int(round(seconds))
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"

    def update(self, name: str, status: str | None) -> str:
        self.done += 1
        if status not in DONE:
            self.failed += 1
        elapsed = self.clock() - self.started
        here = self.done - self.already
        eta = elapsed / here * (self.total - self.done) if here else math.nan
        line = (f"study: {self.done}/{self.total} runs done | {self.failed} failed | "
                f"{self._clock_text(elapsed)} elapsed | ETA {self._clock_text(eta) if math.isfinite(eta) else '-'} | "
                f"{name}: {status}")
        if self.stream is not None:
            terminal = getattr(self.stream, "isatty", lambda: False)()
            self.stream.write(("\r\033[K" + line) if terminal else line + "\n")
            if terminal and self.done == self.total:
                self.stream.write("\n")
            self.stream.flush()
        return line


def _run_tasks(jobs: list[dict[str, Any]], backend: str, ray_address: str | None,
               on_done: Callable[[dict[str, Any]], None]) -> None:
    """Run :func:`study_task` on every job, here or as Ray tasks, calling ``on_done`` as each finishes."""
    if backend == "sequential":
        for job in jobs:
            record = study_task(job)
            on_done(record)
            if record.get("status") == "interrupted":
                return
        return
    from gwrep.train.sweep import ray_tasks

    calls = [((job,), str(job["options"].get("device", "auto")), job["options"]["out"]) for job in jobs]
    for _, record in ray_tasks(study_task, calls, ray_address, backend="study"):
        on_done(record)


def data_roots(study: Any, datasets: Iterable[str], given: str | None) -> dict[str, str]:
    """``data_root`` of every data set read from files: ``DIR/<set>`` (or ``DIR``) of ``--data-root`` or
    ``$GWREP_DATA``; a procedural set needs none. A file set with no folder is a ``ValueError``."""
    from gwrep.data import DATASETS, dataset_root

    roots: dict[str, str] = {}
    for label in datasets:
        data = study.datasets[label].get("data", label)
        if data in DATASETS and not DATASETS[data].needs_root:
            continue
        folder = given or os.environ.get("GWREP_DATA")
        if not folder:
            raise ValueError(f"study {study.name!r}: data set {label!r} is read from files: give --data-root DIR "
                             f"(or set GWREP_DATA)")
        roots[label] = str(Path(dataset_root(folder, data)).resolve())
    return roots


def udr_by_cell(rows: list[dict[str, Any]], runs_dir: Path, settings: Mapping[str, Any]) -> dict[str, float]:
    """UDR of every scored run within its (data set, model, value) cell of seeds; NaN for a cell of one."""
    import numpy as np

    from gwrep.eval.udr import udr_scores

    cells: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        if (runs_dir / row["run"] / UDR_CODES_FILE).is_file() and row.get("status") in DONE:
            cells.setdefault((row["dataset"], row["model"], row["hparam_value"]), []).append(row)
    out: dict[str, float] = {}
    options = dict(settings.get("udr") or {})
    for members in cells.values():
        if len(members) < 2:
            continue
        means, logvars = [], []
        for row in members:
            with np.load(runs_dir / row["run"] / UDR_CODES_FILE) as codes:
                means.append(codes["means"])
                logvars.append(codes["logvars"] if "logvars" in codes.files else None)
        for row, score in zip(members, udr_scores(means, logvars, **options)):
            out[row["run"]] = float(score)
    return out


def collect_rows(runs: Sequence[Any], runs_dir: Path, settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One table row per planned run: identity, training summary and the stored scores (NaN where absent)."""
    from gwrep.train.run import SUMMARY_FILE

    rows = []
    for run in runs:
        run_dir = runs_dir / run.name
        summary = read_json_file(run_dir / SUMMARY_FILE) if (run_dir / SUMMARY_FILE).is_file() else {}
        stored = read_json_file(run_dir / SCORES_FILE) if (run_dir / SCORES_FILE).is_file() else {}
        scores = dict(stored.get("scores") or {})
        rows.append({**run.identity(), "status": summary.get("status", NOT_RUN), "steps": summary.get("step"),
                     "model_step": summary.get("best_step"), "train_minutes": summary.get("minutes"), **scores})
    udr = udr_by_cell(rows, runs_dir, settings)
    for row in rows:
        row["udr"] = udr.get(row["run"], math.nan)
    return rows


def run_study(study: Any, scale: str, out: str | os.PathLike, *, seeds: Sequence[int] | None = None,
              datasets: Sequence[str] | None = None, overrides: Mapping[str, Any] | None = None,
              backend: str = "sequential", ray_address: str | None = None, data_root: str | None = None,
              device: str | None = None, score_seed: int = 0, stream: Any = ...,
              report: bool = True, work: bool = True) -> dict[str, Any]:
    """Train, score and analyse every run of ``study`` at ``scale`` into ``out``; returns a summary dict
    (``rows``, ``failed``, ``interrupted``, paths). Re-running resumes (see the module docstring).
    ``stream``: where the progress goes (default: ``sys.stdout`` at the call; None: nowhere).
    ``work=False`` trains and scores nothing: the table and the analyses of what the runs folder
    holds now (a study still running elsewhere, read part-way)."""
    from gwrep.experiments import merge
    from gwrep.study.table import write_table
    from gwrep.train.run import CHECKPOINT_DIR, SUMMARY_FILE

    if backend not in ("sequential", "ray"):
        raise ValueError(f"unknown study backend {backend!r}; choose 'sequential' or 'ray'")
    if stream is ...:  # sys.stdout as it is at the call (a test's capture replaces it)
        stream = sys.stdout
    started = time.monotonic()
    out = Path(out).resolve()
    runs_dir = out / "runs"
    chosen = list(datasets) if datasets else study.dataset_labels(scale)
    roots = data_roots(study, chosen, data_root)
    extra = dict(overrides or {})
    if device:
        extra["device"] = device
    runs = [r for label in chosen for r in study.runs(scale, seeds, [label], merge(
        extra, {"data_root": roots[label]} if label in roots else {}))]
    runs.sort(key=lambda r: (r.seed, chosen.index(r.dataset)))  # seed-major: every cell once before any twice
    settings = resolve_score_settings(study.score_settings(scale))
    _check_existing(runs, runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    jobs, already = [], 0
    for run in runs if work else []:
        run_dir = runs_dir / run.name
        summary = read_json_file(run_dir / SUMMARY_FILE) if (run_dir / SUMMARY_FILE).is_file() else {}
        needs_train = summary.get("status") not in DONE
        if not needs_train and _scores_current(run_dir, settings, score_seed):
            already += 1
            continue
        jobs.append({"name": run.name, "options": {**run.options, "out": str(run_dir)}, "train": needs_train,
                     "resumable": (run_dir / CHECKPOINT_DIR / "last.pt").is_file(), "settings": settings,
                     "seed": score_seed, "device": device or "cpu"})
    progress = StudyProgress(total=len(runs), already=already, stream=stream)
    if stream is not None and not work:
        stream.write(f"study {study.name}, scale {scale}: the table and analyses of the {len(runs)} planned runs "
                     f"in {runs_dir} as they are now (training and scoring nothing)\n")
    elif stream is not None:
        stream.write(f"study {study.name}, scale {scale}: {len(runs)} runs into {runs_dir} ({already} done and "
                     f"scored, {sum(j['train'] for j in jobs)} to train, {len(jobs)} to score), backend {backend}\n")
    records: list[dict[str, Any]] = []

    def done(record: dict[str, Any]) -> None:
        records.append(record)
        progress.update(record["name"], record.get("status"))
        if record.get("status") == "failed" and stream is not None:
            stream.write(f"\nrun {record['name']} failed: {record.get('message')}\n")

    stopped = False
    if jobs:
        try:
            _run_tasks(jobs, backend, ray_address, done)
        except KeyboardInterrupt:  # Ctrl-C / SIGINT: the runs keep their last checkpoints; record what is done
            stopped = True
            if stream is not None:
                stream.write("\nstopped: writing the table of what is done; run the same command to resume\n")
    interrupted = stopped or any(r.get("status") == "interrupted" for r in records)
    rows = collect_rows(runs, runs_dir, settings)
    csv_path, json_path = write_table(rows, out)
    wall = (time.monotonic() - started) / 60
    meta = _record_invocation(out, study, scale, backend, wall, records, len(runs)) if work else \
        (read_json_file(out / "study_meta.json") if (out / "study_meta.json").is_file() else {})
    result = {"rows": rows, "table": [str(csv_path), str(json_path)], "interrupted": interrupted,
              "failed": sorted({r["run"] for r in rows if r["status"] not in DONE}
                               | {r["name"] for r in records if r.get("status") == "failed"}),
              "wall_minutes": wall, "meta": meta}
    if report and not interrupted:
        from gwrep.study.report import write_report

        started_rows = [r for r in rows if r["status"] != NOT_RUN]  # the analyses see what has run
        note = _scale_note(study, scale, meta)
        if len(started_rows) < len(rows):
            note += (f"\n\n**Part-way:** {len(started_rows)} of the {len(rows)} planned runs have run so far; the "
                     f"analyses below use those only (`gwrep study` again resumes the rest).")
        result["report"] = str(write_report(started_rows, out, title=f"{study.title} ({scale} scale)",
                                            machine_note=_machine_note(runs_dir, rows), scale_note=note))
    return result


def _check_existing(runs: Sequence[Any], runs_dir: Path) -> None:
    """Refuse run folders trained with other options than the plan's (names the run and the fields)."""
    from gwrep.runs import check_existing_runs

    check_existing_runs(list(runs), runs_dir)


def _record_invocation(out: Path, study: Any, scale: str, backend: str, wall: float, records: list[dict[str, Any]],
                       total: int) -> dict[str, Any]:
    """Append this call's wall time and work to ``DIR/study_meta.json`` (each invocation kept)."""
    from gwrep.train.sweep import machine_info

    path = out / "study_meta.json"
    meta = read_json_file(path) if path.is_file() else {}
    invocations = list(meta.get("invocations", [])) + [{
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "wall_minutes": round(wall, 3),
        "backend": backend, "runs_trained": sum(bool(r.get("trained")) for r in records),
        "runs_scored": sum(bool(r.get("scored")) for r in records), "runs": total, "driver": machine_info("cpu")}]
    meta = {"study": study.name, "file": str(study.path), "scale": scale, "invocations": invocations}
    atomic_write_text(path, json.dumps(meta, indent=2) + "\n")
    return meta


def _machine_note(runs_dir: Path, rows: list[dict[str, Any]]) -> str:
    """Where the runs trained, from each run's ``machine.json`` (distinct machines, with run counts)."""
    from collections import Counter

    seen: Counter = Counter()
    for row in rows:
        path = runs_dir / row["run"] / "machine.json"
        if not path.is_file():
            continue
        for m in read_json_file(path).get("invocations", []):
            seen[f"{m.get('cpu')}, {m.get('cpu_count')} cores, {m.get('torch_threads')} torch thread(s), "
                 f"{m.get('gpu') or m.get('device')}"] += 1
    return "; ".join(f"{text} ({n} training invocations)" for text, n in seen.most_common()) or "no run trained yet"


def _scale_note(study: Any, scale: str, meta: Mapping[str, Any]) -> str:
    settings = study.scale(scale)
    reductions = settings.get("reductions") or []
    walls = [i["wall_minutes"] for i in meta.get("invocations", [])]
    text = f"{settings.get('note', '')}".strip()
    if reductions:
        text += "\n\nReductions from the paper:\n" + "\n".join(f"- {r}" for r in reductions)
    if walls:
        text += (f"\n\nWall time: {sum(walls):.1f} min over {len(walls)} invocation(s) of `gwrep study` "
                 f"({', '.join(f'{w:.1f}' for w in walls)} min).")
    return text
