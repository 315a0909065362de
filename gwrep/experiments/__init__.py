"""Experiments as data: the GWAE paper's three experiments as YAML files, and their plans.

An experiment file (``gwrep/experiments/<name>.yaml``, shipped as package data; or any
path a user gives) holds:

- ``name``, ``title``, ``claim`` (the paper's claim the tables are read against),
  ``task``: ``disentanglement`` | ``ood`` | ``generation`` (what ``gwrep experiment``
  evaluates and draws);
- ``base``: :class:`~gwrep.train.TrainConfig` options of every run (data set, nets...);
  ``data_folder`` (optional): the data set's folder below ``--data-root`` when it is not
  ``DIR/<data>`` (CelebA's ``celeba/img_align_celeba_89x109``);
- ``models``: label -> options merged over ``base`` (``model`` defaults to the label);
- ``variants`` (optional): label -> options merged over ``base`` (the OoD protocols);
- ``evaluation``: the task's settings (metrics, image counts, the OoD set...);
- ``scales``: ``smoke`` | ``small`` | ``paper`` -> ``seeds``, ``train`` (options merged over
  every run: steps, batch, ``max_minutes`` budget), optionally ``models`` (label ->
  options for that scale), ``variants`` (the subset to run), ``evaluation`` (overrides),
  ``note`` (what the scale is for).

Options merge in the order base < variant < model < scale.train < scale.models[label]
< command-line ``--set``; nested dicts (``model_options``, ``data_options``) merge key by key.
Runs are named ``<model>[-<variant>]-s<seed>`` and trained by :func:`gwrep.train.sweep.run_sweep`.
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from gwrep.config import shown

__all__ = ["Experiment", "EXPERIMENTS_DIR", "SCALES", "TASKS", "experiment_names", "load_experiment", "merge",
           "shipped_or_path", "check_scale"]

EXPERIMENTS_DIR = Path(__file__).parent
SCALES = ("smoke", "small", "paper")
TASKS = ("disentanglement", "ood", "generation")
_TOP_KEYS = {"name", "title", "claim", "task", "base", "data_folder", "models", "variants", "evaluation", "scales"}
_SCALE_KEYS = {"seeds", "train", "models", "variants", "evaluation", "note"}


def merge(base: Mapping[str, Any], *overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by each override in turn; nested dicts merge key by key (inputs untouched).

    >>> merge({"steps": 5, "model_options": {"latent_dim": 4, "lr": 1}}, {"model_options": {"lr": 2}})
    {'steps': 5, 'model_options': {'latent_dim': 4, 'lr': 2}}
    """
    out = copy.deepcopy(dict(base))
    for override in overrides:
        for key, value in (override or {}).items():
            if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
                out[key] = merge(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
    return out


def experiment_names() -> list[str]:
    """Names of the experiments shipped with gwrep (``gwrep/experiments/*.yaml``), sorted."""
    return sorted(p.stem for p in EXPERIMENTS_DIR.glob("*.yaml"))


@dataclass
class Experiment:
    """A validated experiment file (see the module docstring for its keys)."""

    name: str
    title: str
    claim: str
    task: str
    base: dict[str, Any]
    models: dict[str, dict[str, Any]]
    scales: dict[str, dict[str, Any]]
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)
    data_folder: str | None = None
    path: Path | None = None

    def scale(self, scale: str) -> dict[str, Any]:
        """The settings of ``scale`` (``ValueError`` names the scales this file has)."""
        if scale not in self.scales:
            raise ValueError(f"experiment {self.name!r} has no scale {scale!r}; it has {', '.join(self.scales)}")
        return self.scales[scale]

    def seeds(self, scale: str) -> list[int]:
        return list(self.scale(scale)["seeds"])

    def variant_names(self, scale: str) -> list[str | None]:
        """Variants run at ``scale`` (``[None]`` when the experiment has none)."""
        if not self.variants:
            return [None]
        return list(self.scale(scale).get("variants") or self.variants)

    def evaluation_settings(self, scale: str) -> dict[str, Any]:
        """``evaluation`` merged with the scale's overrides."""
        return merge(self.evaluation, self.scale(scale).get("evaluation") or {})

    def run_options(self, label: str, variant: str | None, scale: str,
                    overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The TrainConfig options of model ``label`` in ``variant`` at ``scale`` (seed not set)."""
        settings = self.scale(scale)
        options = merge(self.base, self.variants.get(variant, {}) if variant else {}, self.models[label],
                        settings.get("train") or {}, (settings.get("models") or {}).get(label) or {},
                        overrides or {})
        options.setdefault("model", label)
        return options

    def points(self, scale: str, seeds: Sequence[int] | None = None, overrides: Mapping[str, Any] | None = None):
        """The :class:`~gwrep.train.sweep.SweepPoint` of every model x variant x seed, validated.

        Each point's ``overrides`` records ``{"label", "variant", "model", "seed"}``.
        """
        from gwrep.train.sweep import expand_grid

        seeds = list(seeds) if seeds else self.seeds(scale)
        points = []
        for variant in self.variant_names(scale):
            for label in self.models:
                options = self.run_options(label, variant, scale, overrides)
                for point in expand_grid(options, models=[options["model"]], seeds=seeds):
                    seed = point.options["seed"]
                    point.name = "-".join([label] + ([variant] if variant else []) + [f"s{seed}"])
                    point.overrides = {"label": label, "variant": variant, "model": options["model"], "seed": seed}
                    points.append(point)
        return points


def _check(condition: bool, path: Path | str, message: str) -> None:
    if not condition:
        raise ValueError(f"experiment file {path}: {message}")


def check_scale(scale: Any, settings: Any, known_keys: set[str], check: Callable[[bool, str], None]) -> None:
    """The checks every scale of an experiment or study file gets: a known scale name, a mapping of
    ``known_keys`` only, and ``seeds`` a non-empty list of non-negative integers. ``check(ok, message)``
    raises the file's error."""
    check(scale in SCALES, f"scale {scale!r} is not one of {SCALES}")
    check(isinstance(settings, Mapping), f"scale {scale!r} must be a mapping")
    bad = sorted(set(settings) - known_keys)
    check(not bad, f"scale {scale!r} has unknown keys {bad}; known: {sorted(known_keys)}")
    seeds = settings.get("seeds")
    check(isinstance(seeds, list) and bool(seeds) and all(isinstance(s, int) and s >= 0 for s in seeds),
          f"scale {scale!r} needs seeds: a non-empty list of non-negative integers, got {shown(seeds)}")


def shipped_or_path(name_or_path: str | os.PathLike, folder: Path, kind: str, plural: str = "") -> Path:
    """The file of a shipped ``kind`` (``folder/<name>.yaml``), or ``name_or_path`` itself when it is a file or ends
    in .yaml/.yml/.json; an unknown name is a ``ValueError`` listing the shipped ones."""
    candidate = Path(name_or_path)
    if candidate.suffix.lower() in (".yaml", ".yml", ".json") or candidate.is_file():
        return candidate
    path = folder / f"{name_or_path}.yaml"
    if not path.is_file():
        shipped = ", ".join(sorted(p.stem for p in folder.glob("*.yaml")))
        raise ValueError(f"unknown {kind} {str(name_or_path)!r}; shipped {plural or kind + 's'}: {shipped} "
                         f"(or give the path of a .yaml file)")
    return path


def load_experiment(name_or_path: str | os.PathLike) -> Experiment:
    """The experiment shipped under ``name`` (``gwrep experiment list``), or the YAML/JSON file at a path."""
    from gwrep.train.config import check_name, read_config_file

    path = shipped_or_path(name_or_path, EXPERIMENTS_DIR, "experiment")
    spec = read_config_file(path)
    unknown = sorted(set(spec) - _TOP_KEYS)
    _check(not unknown, path, f"unknown keys {unknown}; known: {sorted(_TOP_KEYS)}")
    for key in ("name", "task", "models", "scales"):
        _check(key in spec, path, f"missing key {key!r}")
    _check(spec["task"] in TASKS, path, f"task must be one of {TASKS}, got {shown(spec['task'])}")
    _check(isinstance(spec["models"], Mapping) and bool(spec["models"]), path, "models must be a non-empty mapping")
    for label, options in spec["models"].items():
        _check(options is None or isinstance(options, Mapping), path, f"model {label!r} options must be a mapping")
    variants = spec.get("variants") or {}
    _check(isinstance(variants, Mapping), path, "variants must be a mapping")
    scales = spec["scales"]
    _check(isinstance(scales, Mapping) and bool(scales), path, "scales must be a non-empty mapping")
    for scale, settings in scales.items():
        check_scale(scale, settings, _SCALE_KEYS, lambda ok, message: _check(ok, path, message))
        for label in settings.get("models") or {}:
            _check(label in spec["models"], path, f"scale {scale!r} sets options of unknown model {label!r}")
        for variant in settings.get("variants") or []:
            _check(variant in variants, path, f"scale {scale!r} names unknown variant {variant!r}")
    # Names from the file are checked as the command line's are: they name folders and files under --out.
    why = "it names folders and files under the experiment's --out"
    check_name(f"experiment file {path}: name", spec["name"], why)
    for label in spec["models"]:
        check_name(f"experiment file {path}: model label", label, why)
    for label in variants:
        check_name(f"experiment file {path}: variant label", label, why)
    experiment = Experiment(
        name=str(spec["name"]), title=str(spec.get("title") or spec["name"]), claim=str(spec.get("claim") or ""),
        task=spec["task"], base=dict(spec.get("base") or {}),
        models={str(k): dict(v or {}) for k, v in spec["models"].items()},
        scales={k: dict(v) for k, v in scales.items()}, variants={str(k): dict(v or {}) for k, v in variants.items()},
        evaluation=dict(spec.get("evaluation") or {}), data_folder=spec.get("data_folder"), path=path)
    for scale in experiment.scales:  # every run of every scale is a valid TrainConfig, checked now
        experiment.points(scale)
        _check_evaluation(experiment, scale)
    return experiment


def evaluation_metric_names(task: str) -> tuple[str, ...]:
    """The metric names an experiment's ``evaluation.metrics`` may hold for ``task``: ``gwrep eval``'s
    metrics, or for OoD the ``ood_<name>`` summaries that ``gwrep ood`` writes."""
    if task == "ood":
        from gwrep.eval.ood import METRIC_NAMES

        return tuple(f"ood_{name}" for name in METRIC_NAMES)
    from gwrep.eval.catalog import ALL_METRICS

    return ALL_METRICS


def _check_evaluation(experiment: Experiment, scale: str) -> None:
    """An unknown metric or metric option in the evaluation settings of ``scale`` fails when the file loads
    (with --dry-run too), not after every run has trained."""
    settings = experiment.evaluation_settings(scale)
    metrics = settings.get("metrics") or []
    _check(isinstance(metrics, list) and all(isinstance(m, str) for m in metrics), experiment.path,
           f"evaluation metrics must be a list of names, got {shown(metrics)}")
    allowed = evaluation_metric_names(experiment.task)
    unknown = [m for m in metrics if m not in allowed]
    _check(not unknown, experiment.path, f"scale {scale!r}: unknown evaluation metric(s) {unknown} for task "
                                         f"{experiment.task!r}; known: {list(allowed)}")
    options = settings.get("options") or {}
    _check(isinstance(options, Mapping), experiment.path, f"evaluation options must be a mapping, got {shown(options)}")
    if options and experiment.task != "ood":
        from gwrep.eval.catalog import FACTOR_METRICS

        bad = [key for key in options if key.partition(".")[0] not in FACTOR_METRICS or not key.partition(".")[2]]
        _check(not bad, experiment.path, f"scale {scale!r}: evaluation options {bad} must be METRIC.NAME with METRIC "
                                         f"one of {list(FACTOR_METRICS)}")
