"""The one model interface that the trainer, CLI, metrics and comparisons use.

A model is a :class:`torch.nn.Module` that owns its optimizers and runs its own update
in :meth:`Model.training_step` (a model with a critic or discriminator runs its inner
updates there too). Subclasses implement the hooks ``encode``, ``decode``,
``prior_sample``, ``loss`` and ``ood_score``; the base class owns the final training
step, the non-finite guard, the step counter and saving/loading.

Every parameter update goes through :meth:`Model.optimizer_step`, which refuses to step
on a non-finite loss or gradient, so a NaN never reaches the weights (and so never a
checkpoint) whichever player's update produced it.

Inputs are checked once, here, for every model: the methods of :data:`CHECKED_INPUTS`
(``encode``, ``represent``, ``ood_score``, ``decode``, ``sample``, ``prior_sample``,
``training_step``...) take a numpy array or a tensor of any float dtype and device, and
convert it to the model's float dtype and device; a wrong shape, an integer or bool dtype
(uint8 images: divide by 255 first), values outside [0, 1] or not finite, or a count that
is not a positive int, is one ``ValueError``/``TypeError`` naming the method and the
expected shape, dtype or range. A subclass's overrides are wrapped by
``Model.__init_subclass__``; calls a checked method makes on its own model are not checked again.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import io
import operator
import json
import os
import warnings
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, Iterator, Mapping

import numpy as np
import torch
from torch import Tensor, nn

from gwrep.config import Config, check_choice, check_positive, load_torch_file, read_json_file
from gwrep.integrity import atomic_write_bytes, naming_path, state_digest

__all__ = ["ModelConfig", "Model", "NonFiniteLossError", "save_model", "load_model", "build_model", "parameters_of",
           "state_mismatch", "CHECKED_INPUTS"]

CONFIG_FILE = "model.json"
WEIGHTS_FILE = "weights.pt"


class NonFiniteLossError(RuntimeError):
    """A loss term became NaN or infinite; the message names the terms."""


@dataclasses.dataclass
class ModelConfig(Config):
    """Options every model shares.

    Attributes:
        image_shape: (C, H, W) of the inputs; H = W = 28 or 64.
        latent_dim: size of the code z.
        architecture: encoder/decoder family from :mod:`gwrep.nets` (``"dlib"`` conv nets,
            ``"mlp"``, ``"gwae"`` the GWAE authors' nets).
        reconstruction: ``"bernoulli"``, ``"gaussian"`` or ``"auto"`` (Bernoulli for one
            channel, Gaussian for colour), as disentanglement_lib.
        lr: learning rate of the main optimizer.
    """

    image_shape: tuple[int, int, int] = (1, 64, 64)
    latent_dim: int = 10
    architecture: str = "dlib"
    reconstruction: str = "auto"
    lr: float = 1e-4

    def validate(self) -> None:
        super().validate()
        if len(self.image_shape) != 3 or any(not isinstance(s, int) or s <= 0 for s in self.image_shape):
            raise ValueError(f"image_shape must be (C, H, W) positive ints, got {self.image_shape!r}")
        c, h, w = self.image_shape
        if c not in (1, 3):
            raise ValueError(f"image_shape has {c} channels; supported: 1 (gray) or 3 (colour)")
        if (h, w) not in ((28, 28), (64, 64)):
            raise ValueError(f"image size {h}x{w} is not supported; use 28x28 or 64x64")
        check_positive("latent_dim", self.latent_dim, integer=True)
        check_choice("reconstruction", self.reconstruction, ["auto", "bernoulli", "gaussian"])
        check_positive("lr", self.lr)

    @property
    def reconstruction_kind(self) -> str:
        """The resolved reconstruction loss (``"auto"`` decided by the channel count)."""
        if self.reconstruction != "auto":
            return self.reconstruction
        return "bernoulli" if self.image_shape[0] == 1 else "gaussian"


class Model(nn.Module):
    """Base class of every gwrep model (GWAE and the baselines).

    Hooks to implement::

        encode(x) -> (mean, logvar or None)
        decode_logits(z) -> logits of the pixels (decode applies the sigmoid)
        prior_sample(n, generator) -> z of shape (n, latent_dim)
        loss(x) -> (scalar loss for the main optimizer, dict of named terms)
        ood_score(x) -> (N,) scores, higher = more anomalous

    Optional hooks::

        configure_optimizers() -> dict of optimizers; "main" is stepped on loss.
        inner_updates(x) -> dict of logged floats; run before the main update (critics).
        after_update(x, extra) -> dict of logged floats; run after the main update
            (FactorVAE's discriminator), extra the step's further batches.
        on_train_end(batches) -> None; the trainer calls it once training ends
            (DAGMM fits its mixture on the training set).
    """

    config_class: ClassVar[type[ModelConfig]] = ModelConfig
    #: Batches of ``batch_size`` images that one training step consumes. The trainer
    #: hands :meth:`training_step` one tensor of ``batches_per_step * batch_size`` images;
    #: the main update uses the first batch, :meth:`after_update` gets the others
    #: (FactorVAE: 2, the second minibatch of Kim & Mnih 2018, Algorithm 1).
    batches_per_step: ClassVar[int] = 1
    #: The validation term that picks the run's best model (RUN/model, best.pt) and early-stops it.
    #: ``"loss"``, the training objective, unless that objective moves during training: AnnealedVAE's
    #: ``gamma * |KL - C(step)|`` changes with its capacity schedule and is dominated by gamma-scaled noise.
    selection_term: ClassVar[str] = "loss"
    #: The registry name this instance was built under (set by :func:`gwrep.registry`).
    registry_name: str = ""

    def __init__(self, config: ModelConfig):
        super().__init__()
        if not isinstance(config, self.config_class):
            raise TypeError(f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(config).__name__}")
        self.config = config
        self.register_buffer("step", torch.zeros((), dtype=torch.long))
        self._optimizers: dict[str, torch.optim.Optimizer] | None = None
        self._checked_depth = 0  # > 0 inside a checked method: its inner calls take the model's own tensors

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Wrap the subclass's own versions of the :data:`CHECKED_INPUTS` methods with the input checks."""
        super().__init_subclass__(**kwargs)
        for name, kind in CHECKED_INPUTS.items():
            method = cls.__dict__.get(name)
            if inspect.isfunction(method):
                setattr(cls, name, _checked(method, kind))

    # ------------------------------------------------------------------ hooks
    def encode(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        raise NotImplementedError

    def decode_logits(self, z: Tensor) -> Tensor:
        raise NotImplementedError

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        raise NotImplementedError

    def loss(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        raise NotImplementedError

    def ood_score(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Default: Adam(lr) over every parameter (dlib's choice)."""
        return {"main": torch.optim.Adam(self.parameters(), lr=self.config.lr)}

    def inner_updates(self, x: Tensor) -> dict[str, float]:
        """Updates of auxiliary players (critic, discriminator) before the main step."""
        return {}

    def after_update(self, x: Tensor, extra: list[Tensor]) -> dict[str, float]:
        """Updates of auxiliary players after the main step on ``x``; ``extra`` holds the
        step's other ``batches_per_step - 1`` batches. Default: nothing."""
        return {}

    def on_train_end(self, batches: Iterable[Tensor]) -> None:
        """Called by the trainer once training ends (completed, early stop, time budget),
        before the final save, with the training set's image batches. Default: nothing."""

    def train_end_images(self) -> int | None:
        """How many training images :meth:`on_train_end` gets: ``None`` = all, in order; a number = a
        seeded random sample of that many (the trainer draws it with the run's seed)."""
        return None

    # --------------------------------------------------------------- provided
    @property
    def device(self) -> torch.device:
        return self.step.device

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input without the batch dimension: (C, H, W), or (T, C, H, W) for a clip model."""
        shape = tuple(self.config.image_shape)
        return (int(self.config.frames), *shape) if getattr(self, "takes_clips", False) else shape

    @property
    def code_dim(self) -> int:
        """Width of the codes ``decode`` takes and ``represent`` returns."""
        return int(self.config.latent_dim)

    def check_input(self, method: str, kind: str, value: Any) -> Any:
        """``value`` checked and converted for ``method`` (see :data:`CHECKED_INPUTS` for ``kind``)."""
        where = f"{type(self).__name__}.{method}"
        if kind == "count":
            try:
                n = operator.index(value) if not isinstance(value, bool) else None
            except TypeError:
                n = None
            if n is None or n < 1:
                raise ValueError(f"{where}: n must be a positive int (a number of draws), got {value!r}")
            return n
        if isinstance(value, np.ndarray):
            value = torch.from_numpy(np.ascontiguousarray(value))
        if not isinstance(value, Tensor):
            raise TypeError(f"{where} takes a torch tensor or numpy array, got {type(value).__name__}")
        images = kind == "images"
        expected = self.input_shape if images else (self.code_dim,)
        what = ("clips" if len(expected) == 4 else "images") if images else "codes"
        layout = f"(N, {', '.join(map(str, expected))})"
        if value.dtype == torch.uint8 and images:
            raise TypeError(f"{where} takes float {what} {layout} in [0, 1]; got uint8: convert with x.float() / 255")
        if not value.is_floating_point():
            raise TypeError(f"{where} takes float {what} {layout}; got dtype {str(value.dtype).replace('torch.', '')}")
        shape = tuple(value.shape)
        if value.dim() != len(expected) + 1 or shape[1:] != expected:
            hint = ""
            if shape == expected:
                hint = ": add the batch dimension (x[None])"
            elif images and value.dim() == len(expected) + 1 and shape[-1] == expected[-3] and \
                    tuple(shape[-3:-1]) == expected[-2:]:
                hint = ": it looks channels-last, permute to (N, C, H, W)"
            raise ValueError(f"{where} takes {what} {layout}; got a tensor of shape {shape}{hint}")
        value = value.to(device=self.device, dtype=self._float_dtype())
        if images:
            from gwrep.data.checks import check_unit_range

            check_unit_range(value, f"{where}: x")
        elif value.numel() and not bool(torch.isfinite(value).all()):
            raise ValueError(f"{where}: the codes hold NaN or infinite values")
        return value

    def _float_dtype(self) -> torch.dtype:
        """The dtype of the model's floating-point parameters (float32 unless converted)."""
        return next((p.dtype for p in self.parameters() if p.is_floating_point()), torch.float32)

    @property
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """The model's optimizers, built on first use (after the model is on its device)."""
        if self._optimizers is None:
            self._optimizers = self.configure_optimizers()
            if "main" not in self._optimizers:
                raise RuntimeError(f"{type(self).__name__}.configure_optimizers must return a 'main' optimizer")
        return self._optimizers

    def decode(self, z: Tensor) -> Tensor:
        """Images in [0, 1] for codes ``z`` (the decoder mean)."""
        return torch.sigmoid(self.decode_logits(z))

    @torch.no_grad()
    def represent(self, x: Tensor) -> Tensor:
        """The deterministic (mean) code used by the metrics, shape (N, latent_dim)."""
        was_training = self.training
        self.eval()
        mean, _ = self.encode(x)
        self.train(was_training)
        return mean

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` images decoded from prior samples, in [0, 1]."""
        was_training = self.training
        self.eval()
        out = self.decode(self.prior_sample(n, generator=generator))
        self.train(was_training)
        return out

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """Decode the mean code of ``x``."""
        return self.decode(self.represent(x))

    def training_step(self, x: Tensor) -> dict[str, float]:
        """One update of every player; returns named losses as floats.

        ``x`` holds ``batches_per_step`` batches one after the other: inner updates, the
        main update and :meth:`after_update` use the first, ``after_update`` also gets
        the rest. Raises :class:`NonFiniteLossError` when a loss, one of its terms or a
        gradient is NaN or infinite, before the optimizer concerned moves anything.
        """
        self.train()
        batches = self.split_step_batch(x.to(self.device))
        x = batches[0]
        logs = dict(self.inner_updates(x))
        loss, terms = self.loss(x)
        self.optimizer_step("main", loss, terms)
        logs.update(self.after_update(x, batches[1:]))
        self.step += 1
        return {"loss": float(loss.detach()), **{k: float(v.detach()) for k, v in terms.items()}, **logs}

    def split_step_batch(self, x: Tensor) -> list[Tensor]:
        """The ``batches_per_step`` equal batches of a step's images ``x`` (ValueError if they do not divide)."""
        k = self.batches_per_step
        if k == 1:
            return [x]
        if x.shape[0] < k or x.shape[0] % k:
            raise ValueError(f"{type(self).__name__} takes {k} batches per step: a step batch of {k} x m images, "
                             f"got {x.shape[0]}")
        return list(x.chunk(k))

    def optimizer_step(self, name: str, loss: Tensor, terms: Mapping[str, Tensor] | None = None) -> float:
        """Zero optimizer ``name``'s gradients, backpropagate ``loss``, check, step; returns the loss.

        The one place every update of every player goes through. Raises
        :class:`NonFiniteLossError` without stepping when ``loss`` (or one of its named
        ``terms``) is NaN or infinite, or when a gradient of a parameter of that
        optimizer is (a finite loss can still have an infinite gradient, and one such
        step writes NaN into the weights).
        """
        _check_finite(loss, terms or {}, int(self.step), name)
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        # Only this player's gradients: the backward pass skips branches that lead only to
        # other tensors (e.g. the interpolates of a gradient penalty, or frozen players).
        loss.backward(inputs=[p for group in opt.param_groups for p in group["params"] if p.requires_grad])
        self._check_gradients(opt, name)
        opt.step()
        return float(loss.detach())

    def _check_gradients(self, opt: torch.optim.Optimizer, name: str) -> None:
        """Raise :class:`NonFiniteLossError` naming the parameters of ``opt`` with a NaN/inf gradient."""
        params = [p for group in opt.param_groups for p in group["params"] if p.grad is not None]
        if not params or bool(torch.stack([torch.isfinite(p.grad).all() for p in params]).all()):
            return
        names = {id(p): n for n, p in self.named_parameters()}
        bad = [names.get(id(p), f"<unnamed {tuple(p.shape)}>") for p in params if not torch.isfinite(p.grad).all()]
        raise NonFiniteLossError(
            f"non-finite gradient in the {name!r} update at step {int(self.step)} (finite loss); parameters: "
            f"{bad}. The optimizer did not step. Lower the learning rate or check the input data.")

    @torch.no_grad()
    def validation_step(self, x: Tensor) -> dict[str, float]:
        """The loss and its terms on ``x`` without updating anything."""
        was_training = self.training
        self.eval()
        loss, terms = self.loss(x.to(self.device))
        self.train(was_training)
        return {"loss": float(loss), **{k: float(v) for k, v in terms.items()}}

    def optimizer_state(self) -> dict[str, Any]:
        return {name: opt.state_dict() for name, opt in self.optimizers.items()}

    def load_optimizer_state(self, state: dict[str, Any]) -> None:
        for name, opt in self.optimizers.items():
            if name not in state:
                raise KeyError(f"checkpoint has no state for optimizer {name!r} (has {sorted(state)})")
            opt.load_state_dict(state[name])

    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``model.json`` (name + resolved config) and ``weights.pt`` to ``directory``."""
        return save_model(self, directory)

    @classmethod
    def load(cls, directory: str | os.PathLike, map_location: str | torch.device = "cpu") -> "Model":
        return load_model(directory, map_location=map_location)


#: The methods whose first argument every model checks and converts, and what it is: ``"images"`` (a
#: batch (N, C, H, W), or (N, T, C, H, W) for a clip model, float, finite, in [0, 1]), ``"codes"``
#: ((N, code_dim), float, finite) or ``"count"`` (a positive int). Numpy arrays, other float dtypes and
#: other devices are converted to the model's; anything else is one ``ValueError``/``TypeError``.
CHECKED_INPUTS: dict[str, str] = {
    "encode": "images", "represent": "images", "reconstruct": "images", "ood_score": "images",
    "training_step": "images", "validation_step": "images", "decode": "codes", "decode_logits": "codes",
    "prior_sample": "count", "sample": "count"}


def _checked(method: Callable[..., Any], kind: str) -> Callable[..., Any]:
    """``method`` with its first argument checked by :meth:`Model.check_input` (once per outermost call)."""
    if getattr(method, "_gwrep_checked", False):
        return method
    argument = list(inspect.signature(method).parameters)[1]

    @functools.wraps(method)
    def wrapper(self: Model, *args: Any, **kwargs: Any) -> Any:
        if self._checked_depth:  # called by a checked method of this model: its own tensors
            return method(self, *args, **kwargs)
        if args:
            args = (self.check_input(method.__name__, kind, args[0]), *args[1:])
        elif argument in kwargs:
            kwargs[argument] = self.check_input(method.__name__, kind, kwargs[argument])
        self._checked_depth += 1
        try:
            return method(self, *args, **kwargs)
        finally:
            self._checked_depth -= 1

    wrapper._gwrep_checked = True  # type: ignore[attr-defined]
    return wrapper


for _name, _kind in CHECKED_INPUTS.items():
    setattr(Model, _name, _checked(getattr(Model, _name), _kind))


def _check_finite(loss: Tensor, terms: Mapping[str, Tensor], step: int, name: str = "main") -> None:
    """Raise :class:`NonFiniteLossError` if the loss of optimizer ``name`` is NaN/inf, naming the bad terms."""
    if torch.isfinite(loss).all():
        return
    bad = [k for k, v in terms.items() if not torch.isfinite(torch.as_tensor(v).detach()).all()]
    raise NonFiniteLossError(
        f"non-finite loss ({float(loss.detach())}) in the {name!r} update at step {step}; non-finite terms: "
        f"{bad or ['(total only)']}. Lower the learning rate or check the input data."
    )


def save_model(model: Model, directory: str | os.PathLike) -> Path:
    """Save a model's registry name, config, weights and the weights' checksum (no pickled code).

    ``model.json`` records ``weights_sha256`` (:func:`gwrep.integrity.state_digest` of the
    state dict), which :func:`load_model` checks. Both files are written atomically; on a
    failure (a full disk) no temporary file is left and the ``OSError`` names the file.

    Readers never pair old with new: ``model.json`` is written first and, when the folder
    already holds a save of the same model and config (a run replacing its best model), it
    also names the checksums of the :data:`KEPT_DIGESTS` weights saved before
    (``previous_weights_sha256``); ``weights.pt`` follows. So whenever ``model.json`` is
    read, the ``weights.pt`` read after it is the one it names or the one before, and
    :func:`load_model` (which reads ``model.json`` again after the weights) knows a
    mismatch for real corruption. A crash between the two writes leaves the previous
    weights, which still verify.
    """
    directory = Path(directory)
    with naming_path(directory):
        directory.mkdir(parents=True, exist_ok=True)
    state = model.state_dict()
    meta: dict[str, Any] = {"model": model.registry_name or type(model).__name__, "class": type(model).__name__,
                            "config": model.config.to_dict(), "weights_sha256": state_digest(state)}
    previous = _accepted_digests(directory / CONFIG_FILE, meta)
    kept = [d for d in dict.fromkeys(previous) if d != meta["weights_sha256"]][:KEPT_DIGESTS]
    if kept:
        meta["previous_weights_sha256"] = kept
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(directory / CONFIG_FILE, (json.dumps(meta, indent=2) + "\n").encode())
    atomic_write_bytes(directory / WEIGHTS_FILE, buffer.getbuffer())
    return directory


#: Checksums of earlier weights that ``model.json`` still accepts (see :func:`save_model`): one covers a
#: reader between the two writes, the second a folder left by a crash between them and then saved again.
KEPT_DIGESTS = 2


def _accepted_digests(meta_path: Path, meta: Mapping[str, Any]) -> list[str]:
    """The weight checksums ``meta_path`` accepts (newest first) when it describes the same model and config
    as ``meta``; [] when there is no such file, it is unreadable, or it describes another model."""
    try:
        old = read_json_file(meta_path)
    except (OSError, ValueError):
        return []
    if not isinstance(old, dict) or any(old.get(k) != meta[k] for k in ("model", "class", "config")):
        return []
    digests = [old.get("weights_sha256"), *(old.get("previous_weights_sha256") or [])]
    return [d for d in digests if isinstance(d, str)]


def state_mismatch(module: nn.Module, state: Mapping[str, Any], limit: int = 3) -> str | None:
    """One line summarising how ``state`` does not fit ``module.load_state_dict`` (``None``: it fits).

    Counts missing and unexpected keys and tensors of another shape, naming the first
    ``limit`` of each (instead of torch's one line per tensor).
    """
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}" for k, v in own.items()
              if k in state and isinstance(state[k], Tensor) and tuple(state[k].shape) != tuple(v.shape)]
    parts = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("of another shape (saved vs model)", shapes)):
        if items:
            more = f", ... ({len(items) - limit} more)" if len(items) > limit else ""
            parts.append(f"{len(items)} tensors {label}: {', '.join(items[:limit])}{more}")
    return "; ".join(parts) or None


def build_model(name: str, **options: Any) -> Model:
    """Build a registered model by name with config overrides."""
    from gwrep.registry import resolve_model

    cls, config = resolve_model(name, **options)
    model = cls(config)
    model.registry_name = name
    return model


def load_model(directory: str | os.PathLike, map_location: str | torch.device = "cpu") -> Model:
    """Rebuild a model saved by :func:`save_model` (``weights_only=True`` loading).

    Safe while another process saves the model again (a training run replacing its best
    model): ``model.json`` is read before and after ``weights.pt`` and the read is repeated
    while it changes (up to :data:`LOAD_ATTEMPTS` times), so the weights are checked against
    the description they were saved with and "corrupt" means corrupt (:func:`save_model`).
    """
    from gwrep.registry import MODELS

    directory = Path(directory)
    meta_path = directory / CONFIG_FILE
    weights = directory / WEIGHTS_FILE
    for _ in range(LOAD_ATTEMPTS):
        meta = _read_model_meta(meta_path)
        if not weights.is_file():
            raise FileNotFoundError(f"no {WEIGHTS_FILE} in {directory}")
        state = load_torch_file(weights, map_location=map_location)
        if _read_model_meta(meta_path) == meta:  # no save finished in between: weights.pt is one meta accepts
            break
    else:
        raise ValueError(f"{meta_path} changed during each of {LOAD_ATTEMPTS} reads of {weights}: a process is "
                         "saving this model again and again; load it when that process has finished")
    name = meta.get("model")
    if name not in MODELS:
        raise ValueError(f"{meta_path} names model {name!r}, which is not registered; known: {sorted(MODELS)}")
    cls = MODELS[name].load()
    model = cls(cls.config_class.from_dict(meta["config"]))
    model.registry_name = name
    saved = meta.get("weights_sha256")
    if saved is None:
        warnings.warn(f"{meta_path} records no weights checksum (saved before gwrep checked them): {weights} "
                      "loaded unverified", UserWarning, stacklevel=2)
    elif not isinstance(state, dict) or state_digest(state) not in (saved, *(meta.get("previous_weights_sha256") or [])):
        raise ValueError(f"{weights} is corrupt: its contents do not match the checksum in {meta_path}")
    mismatch = state_mismatch(model, state) if isinstance(state, dict) else "not a state dict"
    if mismatch:  # keys or shapes differ from the model that model.json describes
        raise ValueError(f"{weights} does not fit the {name} model of {meta_path}: {mismatch}")
    model.load_state_dict(state)
    return model


#: Reads of a saved model that :func:`load_model` tries while its ``model.json`` keeps changing.
LOAD_ATTEMPTS = 10


def _read_model_meta(meta_path: Path) -> dict[str, Any]:
    """The parsed ``model.json`` (``FileNotFoundError``/``ValueError`` naming it when absent or malformed)."""
    if not meta_path.is_file():
        raise FileNotFoundError(f"no {CONFIG_FILE} in {meta_path.parent}: not a saved gwrep model")
    meta = read_json_file(meta_path)
    if not isinstance(meta, dict) or not isinstance(meta.get("config"), dict):
        raise ValueError(f"{meta_path} is not a saved gwrep model description (no 'model' and 'config')")
    return meta


def parameters_of(*modules: nn.Module) -> Iterator[nn.Parameter]:
    """Parameters of several modules, for building per-player optimizers."""
    for m in modules:
        yield from m.parameters()
