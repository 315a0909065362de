"""The trainer's configuration: :class:`TrainConfig`, and reading it from a file.

One dataclass holds everything a run needs (model name and options, data set and
options, schedule, checkpointing, output folder). It validates at construction, so a
typo in a model name, a negative coefficient or an unsupported image size fails before
anything is written, and it round-trips through ``RUN/config.json``.
"""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any, Mapping

import torch

from gwrep.config import Config, check_nonnegative, check_positive, load_yaml, shown

__all__ = ["TrainConfig", "DEFAULT_STEPS", "DEFAULT_MINUTES", "read_config_file", "resolve_device", "effective_options",
           "config_changes"]

#: Steps of a run that gives neither ``steps`` nor ``epochs`` (the time budget usually ends it first).
DEFAULT_STEPS = 20_000
#: Time budget in minutes of a run that gives neither ``steps``, ``epochs`` nor ``max_minutes``.
DEFAULT_MINUTES = 5.0


#: What a model or data set name may be: it names the default run folder ``runs/<time>-<model>-<data>``,
#: so no path separators and no leading dot (``x/../../ESCAPED`` would write outside runs/).
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


def check_name(field: str, value: object,
               why: str = "it names the run folder; the data's files go in data_root") -> None:
    """Raise ``ValueError`` unless ``value`` is a plain name (letters, digits, ``. _ + -``; no path).

    ``why`` says in the message what the name is used for. Names read from files (an
    experiment's ``name``, its model and variant labels) are checked as the command line's are.
    """
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
        raise ValueError(f"{field} must be a name of letters, digits, '.', '_', '+' or '-' starting with a letter or "
                         f"digit ({why}), got {shown}")


def resolve_device(device: str) -> torch.device:
    """``"auto"`` -> ``cuda`` when available else ``cpu``; other names are checked."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"device {device!r} is not a torch device name ({err})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available; use 'cpu' or 'auto'")
    return dev


@dataclasses.dataclass
class TrainConfig(Config):
    """Everything one training run needs.

    Attributes:
        model: registered model name (:func:`gwrep.registry.model_names`), e.g. ``"gwae-fnp"``.
        model_options: options of the model's config (``latent_dim``, ``prior``, ``lr``,
            loss coefficients...). ``image_shape`` defaults to the data set's.
        data: data set name for :func:`gwrep.data.load`; the default, procedural 3D Shapes,
            needs no files.
        data_root: folder of the real data sets (``None``: the loader's default).
        data_options: options for :func:`gwrep.data.load` (``image_size``, ``channels``...).
        steps: number of training steps (parameter updates of the model).
        epochs: alternatively, number of passes over the training set; give one of the two.
            With neither, the run takes :data:`DEFAULT_STEPS` steps under a
            :data:`DEFAULT_MINUTES`-minute budget.
        max_minutes: wall-clock budget of this invocation; the run stops (with a checkpoint)
            when it is spent. ``None``: no budget.
        batch_size: training batch size (incomplete last batches are dropped). A model that
            takes several minibatches per step (``batches_per_step``: FactorVAE's 2) gets
            that many batches of this size each step.
        seed: seeds model initialisation, data order and every random draw.
        device: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        val_fraction: if > 0, hold out this seeded fraction of the training split for
            validation; if 0, validate on the data set's ``"val"`` split.
        val_batches: validation batches per evaluation (a fixed, seeded random subset of the
            validation set, the same at every evaluation).
        eval_every: steps between validations (``0``: never validate).
        patience: early stopping after this many evaluations without a new best
            validation loss (``0``: no early stopping).
        log_every: steps between lines of ``metrics.jsonl`` (losses averaged over them).
        checkpoint_every: steps between checkpoints (one is always written at the end).
        num_workers: data-loader worker processes.
        figures: write reconstructions, samples, traversals and loss curves at the end.
        out: run folder (``None``: ``runs/<time>-<model>-<data>``).
    """

    model: str = "gwae-fnp"
    model_options: dict = dataclasses.field(default_factory=dict)
    data: str = "shapes3d"
    data_root: str | None = None
    data_options: dict = dataclasses.field(default_factory=dict)
    steps: int | None = None
    epochs: int | None = None
    max_minutes: float | None = None
    batch_size: int = 64
    seed: int = 0
    device: str = "auto"
    val_fraction: float = 0.0
    val_batches: int = 8
    eval_every: int = 250
    patience: int = 10
    log_every: int = 10
    checkpoint_every: int = 500
    num_workers: int = 0
    figures: bool = True
    out: str | None = None

    def validate(self) -> None:
        super().validate()
        from gwrep.registry import MODELS

        if self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; known models: {', '.join(sorted(MODELS))}")
        for name in ("model_options", "data_options"):
            if getattr(self, name) is None:  # YAML's empty "model_options:" is no options, as {} is
                setattr(self, name, {})
            value = getattr(self, name)
            if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                raise ValueError(f"{name} must be a dict with string keys, got {shown(value)}")
        check_name("data", self.data)
        check_name("model", self.model)
        if self.steps is not None and self.epochs is not None:
            raise ValueError(f"give steps or epochs, not both (steps={self.steps}, epochs={self.epochs})")
        for name in ("steps", "epochs"):
            if getattr(self, name) is not None:
                check_positive(name, getattr(self, name), integer=True)
        if self.max_minutes is not None:
            check_positive("max_minutes", self.max_minutes)
        check_positive("batch_size", self.batch_size, integer=True)
        check_nonnegative("seed", self.seed, integer=True)
        if not (isinstance(self.val_fraction, (int, float)) and 0.0 <= self.val_fraction < 1.0):
            raise ValueError(f"val_fraction must lie in [0, 1), got {self.val_fraction!r}")
        check_positive("val_batches", self.val_batches, integer=True)
        for name in ("eval_every", "patience", "num_workers"):
            check_nonnegative(name, getattr(self, name), integer=True)
        for name in ("log_every", "checkpoint_every"):
            check_positive(name, getattr(self, name), integer=True)
        if not isinstance(self.device, str):
            raise ValueError(f"device must be a string such as 'auto', 'cpu' or 'cuda', got {self.device!r}")
        if self.device != "auto":
            try:
                torch.device(self.device)
            except RuntimeError:
                raise ValueError(f"device {self.device!r} is not a torch device name (try 'auto', 'cpu', 'cuda')") from None
        if "image_shape" in self.model_options:
            shape = self.model_options["image_shape"]
            if not isinstance(shape, (list, tuple)) or len(shape) != 3:
                raise ValueError(f"model_options.image_shape must be (C, H, W), got {shown(shape)}")
        # Build the model's config now so a bad option (unknown prior, negative
        # coefficient, unsupported image size) fails before the run starts, and keep the
        # options as that config parsed them (``"no"`` -> ``False``), which config.json records.
        typed = self.model_config().to_dict()
        self.model_options = {key: typed.get(key, value) for key, value in self.model_options.items()}

    def model_config(self, image_shape: tuple[int, int, int] | None = None):
        """The validated config of the model (``image_shape`` from the data set unless given)."""
        from gwrep.registry import resolve_model

        options = dict(self.model_options)
        given = options.get("image_shape")
        if given is not None and image_shape is not None and tuple(given) != tuple(image_shape):
            raise ValueError(
                f"model_options.image_shape {tuple(given)} does not match the data set's images {tuple(image_shape)}")
        if image_shape is not None:
            options["image_shape"] = tuple(image_shape)
        elif given is not None:
            options["image_shape"] = tuple(given)
        _, config = resolve_model(self.model, **options)
        return config

    def planned_steps(self, steps_per_epoch: int) -> int:
        """Total steps of the run: ``steps``, or ``epochs`` passes, or :data:`DEFAULT_STEPS`."""
        if self.steps is not None:
            return self.steps
        if self.epochs is not None:
            return self.epochs * steps_per_epoch
        return DEFAULT_STEPS

    @property
    def time_budget_minutes(self) -> float | None:
        """``max_minutes``, or :data:`DEFAULT_MINUTES` for a run given no length at all."""
        if self.max_minutes is not None:
            return self.max_minutes
        if self.steps is None and self.epochs is None:
            return DEFAULT_MINUTES
        return None


def _unique_keys(pairs: list[tuple[str, Any]], path: Path) -> dict[str, Any]:
    """A JSON object as a dict; ``ValueError`` when a key appears twice (``json`` keeps the last silently)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"{path}: key {shown(key)} appears twice in one JSON object; give it once")
        out[key] = value
    return out


#: Where :func:`effective_options` puts the options of the model and of the data set (dotted keys).
_NESTED = ("model_options", "data_options")
#: Compared by :func:`config_changes` only when both configs give it (the trainer fills it in from the data).
_FILLED_IN = ("model_options.image_shape",)
#: Data options whose None means "the set's native size": compared only when both configs name a value.
_NATIVE = ("data_options.image_size", "data_options.channels")


def effective_options(config: TrainConfig) -> dict[str, Any]:
    """Every option ``config`` trains with, resolved, as one flat dict for comparing configs by value.

    ``model_options.<name>`` for every field of the model's config (its defaults filled in, each value
    parsed by its type), ``data_options.<name>`` for every option the data set loads with
    (:func:`gwrep.data.catalog.effective_options`: its defaults, the protocol expanded; a data set gwrep
    does not know, handed over from Python, keeps its options as given), and every other field.
    ``model_options.image_shape`` is there only when the config gives it, and then a data ``image_size`` or
    ``channels`` of None (the set's native size) is that shape's. So two configs that train the
    same run compare equal whatever form they were written in: ``model_options`` missing, None or {};
    ``lr: 1e-4`` given or left at its default; ``"1e-4"`` or ``0.0001``.

    >>> a = TrainConfig(model="vae", model_options={"lr": "1e-4"}, data="mnist", data_options={"protocol": "clean"})
    >>> config_changes(a, TrainConfig(model="vae", data="mnist", model_options=None))
    []
    >>> config_changes(a, TrainConfig(model="vae", data="mnist", model_options={"lr": 1e-3}, steps=5))
    [('model_options.lr', 0.0001, 0.001), ('steps', None, 5)]
    """
    from gwrep.data.catalog import DATASETS
    from gwrep.data.catalog import effective_options as data_options

    out = {k: v for k, v in config.to_dict().items() if k not in (*_NESTED, "_class")}
    model = {k: v for k, v in config.model_config().to_dict().items() if k != "_class"}
    if "image_shape" not in config.model_options:
        model.pop("image_shape", None)
    data = data_options(config.data, config.data_options) if config.data in DATASETS else dict(config.data_options)
    if "image_shape" in config.model_options:  # the images' shape is known: "native" is that size
        channels, size = config.model_options["image_shape"][0], config.model_options["image_shape"][1]
        data.update({k: v for k, v in (("image_size", size), ("channels", channels)) if data.get(k, 0) is None})
    out.update({f"model_options.{k}": v for k, v in model.items()})
    out.update({f"data_options.{k}": v for k, v in data.items()})
    return out


def config_changes(old: TrainConfig, new: TrainConfig, ignore: Any = ()) -> list[tuple[str, Any, Any]]:
    """``(key, old value, new value)`` of every option of :func:`effective_options` whose values differ,
    sorted by key; keys in ``ignore`` (a field, or a nested dict such as ``"data_options"`` for all of its
    keys) are skipped. ``model_options.image_shape`` is compared only when both configs give it, and a data
    ``image_size`` or ``channels`` only when both name one (None: the set's native size, unknown without
    loading it unless the config's image_shape says it)."""
    before, after = effective_options(old), effective_options(new)
    missing = object()
    changes = []
    for key in sorted(set(before) | set(after)):
        if key in ignore or key.split(".")[0] in ignore or (key in _FILLED_IN and (key not in before or key not in after)):
            continue
        a, b = before.get(key, missing), after.get(key, missing)
        if key in _NATIVE and (a in (None, missing) or b in (None, missing)):
            continue
        if a != b:
            changes.append((key, None if a is missing else a, None if b is missing else b))
    return changes


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a run configuration from a ``.json``, ``.yaml`` or ``.yml`` file as a dict.

    YAML needs PyYAML (``pip install gwrep[yaml]``); a missing file raises
    ``FileNotFoundError`` and a malformed one ``ValueError`` naming the file. A key given twice
    in one mapping and YAML aliases that expand the file by more than
    :data:`gwrep.config.MAX_ALIAS_EXPANSION` values are refused (:func:`gwrep.config.load_yaml`).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    text = path.read_text()
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        try:
            import yaml  # noqa: F401
        except ImportError:
            raise ValueError(f"reading {path} needs PyYAML: pip install 'gwrep[yaml]' (or use a .json file)") from None
        data = load_yaml(text, str(path))  # duplicate keys and alias bombs refused
    elif suffix == ".json":
        try:
            data = json.loads(text, object_pairs_hook=lambda pairs: _unique_keys(pairs, path))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path} is not valid JSON: {err}") from None
    else:
        raise ValueError(f"config file {path} must end in .json, .yaml or .yml")
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ValueError(f"{path} must hold a mapping of options, got {type(data).__name__}")
    return dict(data)

