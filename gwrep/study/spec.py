"""A study as data: the YAML format of ``gwrep study`` and the plan of its runs.

A study file (``gwrep/study/<name>.yaml``, shipped as package data; or any path) holds:

- ``name``, ``title``, ``reference`` (the paper), ``note``;
- ``base``: :class:`~gwrep.train.TrainConfig` options of every run (nets, loss, batch, optimiser);
- ``datasets``: label -> options merged over ``base`` (``data`` defaults to the label;
  ``data_options`` such as ``image_size``);
- ``models``: label -> ``{model, hparam, option, values, regularisation, options}``: the gwrep
  model name (default: the label), the swept hyperparameter's name as the paper writes it, the
  TrainConfig option it sets (dotted, default ``model_options.<hparam>``), its grid as the paper
  lists it, ``regularisation``: ``increasing`` (default) or ``decreasing``, how the regularisation
  grows with the value (AnnealedVAE's capacity c_max: a larger capacity regularises less), which
  orders ``hparam_rank`` from the weakest to the strongest regularisation, and options merged over
  ``base``;
- ``scores``: ``preset`` (``fast`` | ``default``, :mod:`gwrep.study.scores`) and overrides;
- ``scales``: ``smoke`` | ``small`` | ``paper`` -> ``seeds``; optional ``datasets`` and
  ``models`` (the labels run at this scale), ``grid_positions`` (1-based positions in every
  model's grid, e.g. ``[1, 3, 6]``), ``train`` (options merged over every run),
  ``model_train`` (label -> options), ``scores`` (overrides), ``note`` and ``reductions``
  (each way the scale departs from the paper, stated).

Options merge in the order base < dataset < model options < the hyperparameter value <
scale.train < scale.model_train[label] < ``--set``; nested dicts merge key by key. Runs are
named ``<dataset>-<model>-<hparam>=<value>-s<seed>`` and listed seed-major (every cell's
seed 0 first), so a study stopped half-way has every cell at least once.
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from gwrep.experiments import SCALES, check_scale, merge

__all__ = ["Study", "StudyModel", "StudyRun", "STUDIES_DIR", "SCALES", "study_names", "load_study"]

STUDIES_DIR = Path(__file__).parent
_TOP_KEYS = {"name", "title", "reference", "note", "base", "datasets", "models", "scores", "scales"}
_MODEL_KEYS = {"model", "hparam", "option", "values", "regularisation", "options"}
_DIRECTIONS = ("increasing", "decreasing")
_SCALE_KEYS = {"seeds", "datasets", "models", "grid_positions", "train", "model_train", "scores", "note", "reductions"}


@dataclass
class StudyModel:
    """One model of a study and its hyperparameter grid (weakest to strongest regularisation)."""

    label: str
    model: str
    hparam: str
    option: str
    values: list[float]
    options: dict[str, Any] = field(default_factory=dict)
    regularisation: str = "increasing"

    def rank(self, position: int) -> int:
        """Rank of the value at 0-based ``position`` of :attr:`values`, 0 = the weakest regularisation."""
        return position if self.regularisation == "increasing" else len(self.values) - 1 - position


@dataclass
class StudyRun:
    """One run of a study: its folder name, the table's identity columns and its TrainConfig options."""

    name: str
    dataset: str
    model: str
    hparam: str
    hparam_value: float
    hparam_rank: int
    seed: int
    options: dict[str, Any]

    @property
    def cell(self) -> tuple[str, str, float]:
        """(dataset, model, value): the runs UDR compares differ only by seed."""
        return self.dataset, self.model, self.hparam_value

    def identity(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "model": self.model, "hparam": self.hparam,
                "hparam_value": self.hparam_value, "hparam_rank": self.hparam_rank, "seed": self.seed,
                "run": self.name}


def _slug(value: float) -> str:
    return f"{value:g}".replace("+", "")


@dataclass
class Study:
    """A validated study file (see the module docstring for its keys)."""

    name: str
    title: str
    reference: str
    base: dict[str, Any]
    datasets: dict[str, dict[str, Any]]
    models: dict[str, StudyModel]
    scales: dict[str, dict[str, Any]]
    scores: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    path: Path | None = None

    def scale(self, scale: str) -> dict[str, Any]:
        """The settings of ``scale`` (``ValueError`` names the scales this file has)."""
        if scale not in self.scales:
            raise ValueError(f"study {self.name!r} has no scale {scale!r}; it has {', '.join(self.scales)}")
        return self.scales[scale]

    def score_settings(self, scale: str) -> dict[str, Any]:
        """``scores`` merged with the scale's overrides."""
        return merge(self.scores, self.scale(scale).get("scores") or {})

    def dataset_labels(self, scale: str) -> list[str]:
        return list(self.scale(scale).get("datasets") or self.datasets)

    def model_labels(self, scale: str) -> list[str]:
        return list(self.scale(scale).get("models") or self.models)

    def grid(self, label: str, scale: str) -> list[tuple[int, float]]:
        """(regularisation rank in the full grid, value) of the values model ``label`` runs at ``scale``."""
        spec = self.models[label]
        positions = [p - 1 for p in self.scale(scale).get("grid_positions") or range(1, len(spec.values) + 1)]
        return [(spec.rank(p), spec.values[p]) for p in positions]

    def runs(self, scale: str, seeds: Sequence[int] | None = None, datasets: Sequence[str] | None = None,
             overrides: Mapping[str, Any] | None = None) -> list[StudyRun]:
        """Every run of ``scale`` (seed-major), each (data set, model, value) cell validated once as a TrainConfig
        (its runs differ only by the seed, checked here to be a non-negative integer)."""
        from gwrep.train import TrainConfig
        from gwrep.train.sweep import set_dotted

        settings = self.scale(scale)
        seeds = list(seeds) if seeds else list(settings["seeds"])
        chosen = list(datasets) if datasets else self.dataset_labels(scale)
        unknown = [d for d in chosen if d not in self.datasets]
        if unknown:
            raise ValueError(f"study {self.name!r} has no data set {unknown}; it has {', '.join(self.datasets)}")
        bad = [s for s in seeds if isinstance(s, bool) or not isinstance(s, int) or s < 0]
        if bad:
            raise ValueError(f"study {self.name!r}: seeds must be non-negative integers, got {bad}")
        cells = []  # (dataset, label, rank, value, options): runs of a cell differ only by their seed
        for dataset in chosen:
            for label in self.model_labels(scale):
                spec = self.models[label]
                for rank, value in self.grid(label, scale):
                    valued: dict[str, Any] = {}
                    set_dotted(valued, spec.option, value)
                    options = merge(self.base, self.datasets[dataset], spec.options, valued,
                                    settings.get("train") or {}, (settings.get("model_train") or {}).get(label) or {},
                                    overrides or {})
                    options.setdefault("data", dataset)
                    options["model"], options["seed"] = spec.model, seeds[0]
                    TrainConfig.from_dict({**options, "out": None})  # validate now, before any run starts
                    cells.append((dataset, label, rank, value, options))
        runs, names = [], set()
        for seed in seeds:  # seed-major: every cell once before any twice
            for dataset, label, rank, value, options in cells:
                spec = self.models[label]
                name = f"{dataset}-{label}-{spec.hparam}={_slug(value)}-s{seed}"
                if name in names:
                    raise ValueError(f"study {self.name!r}: two runs share the folder name {name!r}")
                names.add(name)
                runs.append(StudyRun(name, dataset, label, spec.hparam, float(value), rank, seed,
                                     {**copy.deepcopy(options), "seed": seed}))
        return runs


def study_names() -> list[str]:
    """Names of the studies shipped with gwrep (``gwrep/study/*.yaml``), sorted."""
    return sorted(p.stem for p in STUDIES_DIR.glob("*.yaml"))


def _check(condition: bool, path: Path | str, message: str) -> None:
    if not condition:
        raise ValueError(f"study file {path}: {message}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _model(label: str, raw: Any, path: Path) -> StudyModel:
    _check(isinstance(raw, Mapping), path, f"model {label!r} must be a mapping with hparam and values")
    bad = sorted(set(raw) - _MODEL_KEYS)
    _check(not bad, path, f"model {label!r} has unknown keys {bad}; known: {sorted(_MODEL_KEYS)}")
    _check(isinstance(raw.get("hparam"), str) and bool(raw.get("hparam")), path,
           f"model {label!r} needs hparam: the name of the swept hyperparameter")
    values = raw.get("values")
    _check(isinstance(values, list) and bool(values) and all(_is_number(v) for v in values), path,
           f"model {label!r} needs values: a non-empty list of numbers, got {values!r}")
    _check(len(set(values)) == len(values), path, f"model {label!r} lists a value twice: {values}")
    options = raw.get("options") or {}
    _check(isinstance(options, Mapping), path, f"model {label!r} options must be a mapping")
    direction = raw.get("regularisation", "increasing")
    _check(direction in _DIRECTIONS, path, f"model {label!r}: regularisation must be one of {_DIRECTIONS}, "
                                           f"got {direction!r}")
    return StudyModel(label=str(label), model=str(raw.get("model") or label), hparam=str(raw["hparam"]),
                      option=str(raw.get("option") or f"model_options.{raw['hparam']}"),
                      values=[float(v) for v in values], options=dict(options), regularisation=direction)


def load_study(name_or_path: str | os.PathLike) -> Study:
    """The study shipped under ``name`` (``gwrep study list``), or the YAML/JSON file at a path."""
    from gwrep.experiments import shipped_or_path
    from gwrep.train.config import check_name, read_config_file

    path = shipped_or_path(name_or_path, STUDIES_DIR, "study", "studies")
    spec = read_config_file(path)
    _check(isinstance(spec, Mapping), path, "must hold a mapping")
    unknown = sorted(set(spec) - _TOP_KEYS)
    _check(not unknown, path, f"unknown keys {unknown}; known: {sorted(_TOP_KEYS)}")
    for key in ("name", "datasets", "models", "scales"):
        _check(key in spec, path, f"missing key {key!r}")
    for key in ("datasets", "models", "scales"):
        _check(isinstance(spec[key], Mapping) and bool(spec[key]), path, f"{key} must be a non-empty mapping")
    for label, options in spec["datasets"].items():
        _check(options is None or isinstance(options, Mapping), path, f"data set {label!r} options must be a mapping")
    why = "it names the study's run folders"  # names from a file are checked as the command line's (issue 25)
    check_name(f"study file {path}: name", spec["name"], why)
    for key in ("datasets", "models"):
        for label in spec[key]:
            check_name(f"study file {path}: {key.rstrip('s')} label", label, why)
    models = {str(label): _model(str(label), raw, path) for label, raw in spec["models"].items()}
    datasets = {str(k): dict(v or {}) for k, v in spec["datasets"].items()}
    for scale, settings in spec["scales"].items():
        check_scale(scale, settings, _SCALE_KEYS, lambda ok, message: _check(ok, path, message))
        for key, known in (("datasets", datasets), ("models", models), ("model_train", models)):
            for label in settings.get(key) or []:
                _check(label in known, path, f"scale {scale!r} names unknown {key.rstrip('s')} {label!r}")
        positions = settings.get("grid_positions")
        if positions is not None:
            shortest = min(len(m.values) for m in models.values())
            _check(isinstance(positions, list) and bool(positions) and all(isinstance(p, int) and 1 <= p <= shortest
                                                                           for p in positions), path,
                   f"scale {scale!r}: grid_positions must be 1-based positions <= {shortest}, got {positions!r}")
    study = Study(name=str(spec["name"]), title=str(spec.get("title") or spec["name"]),
                  reference=str(spec.get("reference") or ""), base=dict(spec.get("base") or {}), datasets=datasets,
                  models=models, scales={k: dict(v) for k, v in spec["scales"].items()},
                  scores=dict(spec.get("scores") or {}), note=str(spec.get("note") or ""), path=path)
    for scale in study.scales:  # every run of every scale is a valid TrainConfig, checked now
        study.runs(scale)
    return study
