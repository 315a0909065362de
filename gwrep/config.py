"""Typed, validating configuration dataclasses that round-trip through JSON.

Every model, prior and the trainer declare their options as a dataclass deriving from
:class:`Config`. A config validates itself at construction (a bad value raises
``ValueError`` naming the field), records its class name when serialised, and rebuilds
from that dictionary. A child config inherits its parent's fields, so a baseline declares
only its own hyperparameters.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, TypeVar

__all__ = [
    "Config",
    "check_choice",
    "check_positive",
    "check_nonnegative",
    "check_probability",
    "atomic_write_text",
    "read_json_file",
    "load_torch_file",
]

C = TypeVar("C", bound="Config")


def check_positive(name: str, value: float, *, integer: bool = False) -> None:
    """Raise ``ValueError`` unless ``value`` is a finite number > 0 (an int if asked)."""
    if integer and (not isinstance(value, int) or isinstance(value, bool)):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def check_nonnegative(name: str, value: float, *, integer: bool = False) -> None:
    """Raise ``ValueError`` unless ``value`` is a finite number >= 0 (an int if asked)."""
    if integer and (not isinstance(value, int) or isinstance(value, bool)):
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def check_probability(name: str, value: float) -> None:
    """Raise ``ValueError`` unless ``0 <= value <= 1``."""
    if not isinstance(value, (int, float)) or not (0.0 <= value <= 1.0):
        raise ValueError(f"{name} must lie in [0, 1], got {value!r}")


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> None:
    """Raise ``ValueError`` listing the allowed values unless ``value`` is one of them."""
    allowed = list(allowed)
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; choose one of {allowed}")


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and an atomic rename."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_json_file(path: str | os.PathLike) -> Any:
    """Parse a JSON file: ``FileNotFoundError`` if missing, ``ValueError`` naming it if malformed."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"file not found: {path}")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from None


def load_torch_file(path: str | os.PathLike, map_location: Any = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``; ``ValueError`` naming the file when it is
    truncated, corrupt or holds pickled objects (instead of torch's multi-line error)."""
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"file not found: {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, EOFError):
        raise ValueError(f"{path} is not a torch weights file: corrupt, truncated, or holding objects that "
                         "weights-only loading refuses") from None
    except RuntimeError as err:  # torch's reader: a broken zip archive
        reason = str(err).strip().split(". ")[0]
        raise ValueError(f"{path} is not a readable torch file (corrupt or truncated): {reason}") from None


@dataclasses.dataclass
class Config:
    """Base class: validation hook, JSON round trip, class name recorded.

    Subclasses are ``@dataclasses.dataclass`` classes; they override :meth:`validate`
    (calling ``super().validate()``) to check their own fields.
    """

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            # JSON turns tuples into lists: give tuple-typed fields their tuples back.
            if isinstance(value, list) and isinstance(f.default, tuple):
                setattr(self, f.name, tuple(value))
        self.validate()

    def validate(self) -> None:
        """Check field values; raise ``ValueError`` naming the bad field."""

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary of the fields plus ``"_class"``, the config's class name."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out = json.loads(json.dumps(out))  # deep copy, tuples -> lists, checks JSON-ability
        out["_class"] = type(self).__name__
        return out

    @classmethod
    def from_dict(cls: type[C], data: Mapping[str, Any]) -> C:
        """Build from :meth:`to_dict` output (or any mapping of field names).

        Unknown keys raise ``ValueError`` listing the known ones.
        """
        data = dict(data)
        data.pop("_class", None)
        known = {f.name for f in dataclasses.fields(cls) if f.init}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{cls.__name__} has no option(s) {unknown}; known options: {sorted(known)}")
        return cls(**data)

    def replace(self: C, **changes: Any) -> C:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls: type[C], text: str) -> C:
        return cls.from_dict(json.loads(text))

    def save(self, path: str | os.PathLike) -> None:
        """Write the config as JSON, atomically."""
        atomic_write_text(path, self.to_json() + "\n")

    @classmethod
    def load(cls: type[C], path: str | os.PathLike) -> C:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"config file not found: {path}")
        data = read_json_file(path)
        if not isinstance(data, Mapping):
            raise ValueError(f"{path} must hold a JSON object of options, got {type(data).__name__}")
        try:
            return cls.from_dict(data)
        except ValueError as err:  # a bad value: say which file holds it
            raise ValueError(f"{path}: {err}") from None
