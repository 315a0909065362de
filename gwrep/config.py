"""Typed, validating configuration dataclasses that round-trip through JSON.

Every model, prior and the trainer declare their options as a dataclass deriving from
:class:`Config`. A config validates itself at construction (a bad value raises
``ValueError`` naming the field), records its class name when serialised, and rebuilds
from that dictionary. A child config inherits its parent's fields, so a baseline declares
only its own hyperparameters.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import reprlib
import types
import typing
from pathlib import Path
from typing import Any, Iterable, Mapping, TypeVar

__all__ = [
    "Config",
    "check_choice",
    "check_positive",
    "check_nonnegative",
    "check_probability",
    "parse_bool",
    "coerce_option",
    "atomic_write_text",
    "read_json_file",
    "load_torch_file",
    "shown",
    "format_bytes",
    "output_folder",
    "load_yaml",
    "MAX_ALIAS_EXPANSION",
]

C = TypeVar("C", bound="Config")


_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = 80
_SHORT_REPR.maxlist = _SHORT_REPR.maxtuple = _SHORT_REPR.maxdict = _SHORT_REPR.maxset = 8
_SHORT_REPR.maxlevel = 3


def shown(value: Any) -> str:
    """``repr(value)`` cut short (8 entries per container, 3 levels, 80 characters per string), for error
    messages: a value from a file (a YAML alias expanding to thousands of entries) never floods the line.

    >>> shown(list(range(100)))
    '[0, 1, 2, 3, 4, 5, 6, 7, ...]'
    """
    return _SHORT_REPR.repr(value)


def format_bytes(n: float) -> str:
    """``n`` bytes in binary units, e.g. ``"3.8 GiB"``.

    >>> format_bytes(4_000_000_000), format_bytes(512)
    ('3.7 GiB', '512 B')
    """
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def check_positive(name: str, value: float, *, integer: bool = False) -> None:
    """Raise ``ValueError`` unless ``value`` is a finite number > 0 (an int if asked)."""
    if integer and (not isinstance(value, int) or isinstance(value, bool)):
        raise ValueError(f"{name} must be a positive integer, got {shown(value)}")
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {shown(value)}")


def check_nonnegative(name: str, value: float, *, integer: bool = False) -> None:
    """Raise ``ValueError`` unless ``value`` is a finite number >= 0 (an int if asked)."""
    if integer and (not isinstance(value, int) or isinstance(value, bool)):
        raise ValueError(f"{name} must be a non-negative integer, got {shown(value)}")
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {shown(value)}")


def check_probability(name: str, value: float) -> None:
    """Raise ``ValueError`` unless ``0 <= value <= 1``."""
    if not isinstance(value, (int, float)) or not (0.0 <= value <= 1.0):
        raise ValueError(f"{name} must lie in [0, 1], got {shown(value)}")


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> None:
    """Raise ``ValueError`` listing the allowed values unless ``value`` is one of them."""
    allowed = list(allowed)
    if value not in allowed:
        raise ValueError(f"unknown {name} {shown(value)}; choose one of {allowed}")


#: Spellings a boolean option accepts (case-insensitive), besides real bools and the ints 0 and 1.
TRUE_WORDS = ("true", "yes", "1")
FALSE_WORDS = ("false", "no", "0")


def parse_bool(name: str, value: Any) -> bool:
    """``value`` as a bool: ``True``/``False``, the ints 1/0, or true/false/yes/no/1/0 in any case.

    Anything else raises ``ValueError`` naming ``name`` and the value: a string such as ``"no"``
    is never taken as truthy.

    >>> parse_bool("figures", "No"), parse_bool("figures", 1), parse_bool("figures", True)
    (False, True, True)
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise ValueError(f"option {name}: {shown(value)} is not a boolean; expected true/false/yes/no/1/0")


def _parse_int(name: str, value: Any) -> int:
    """An int, an integral float (``1e3``) or a string spelling one; else ``ValueError``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            if math.isfinite(number) and number.is_integer():
                return int(number)
    raise ValueError(f"option {name}: {shown(value)} is not an integer; expected an int such as 10")


def _parse_float(name: str, value: Any) -> float:
    """An int or float, or a string spelling one (YAML reads ``1e-4`` as a string); else ``ValueError``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise ValueError(f"option {name}: {shown(value)} is not a number; expected a float such as 1e-4")


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def coerce_option(name: str, value: Any, annotation: Any) -> Any:
    """``value`` parsed as the declared type ``annotation`` of option ``name``.

    bool -> :func:`parse_bool`; int and float -> parsed and checked (``"3"``, ``"1e-4"``); str ->
    a string (a path object is turned into its string); ``X | None`` -> None or X; tuples
    element-wise; other types (dict, Any) are left to the config's ``validate``. A value of the
    wrong type raises one-line ``ValueError`` naming the option, the value and the expected type.
    """
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = typing.get_args(annotation)
        if value is None and type(None) in members:
            return None
        kinds = [m for m in members if m is not type(None)]
        if len(kinds) == 1:
            return coerce_option(name, value, kinds[0])
        return value
    if annotation is bool:
        return parse_bool(name, value)
    if annotation is int:
        return _parse_int(name, value)
    if annotation is float:
        return _parse_float(name, value)
    if annotation is str:
        if isinstance(value, os.PathLike):
            return os.fspath(value)
        if not isinstance(value, str):
            raise ValueError(f"option {name}: {shown(value)} is not a string; expected a str")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"option {name}: {shown(value)} is not a sequence; expected {_type_name(annotation)}")
        args = typing.get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis:
            args = (args[0],) * len(value)
        if len(args) != len(value):
            raise ValueError(f"option {name}: {shown(value)} has {len(value)} entries; expected {_type_name(annotation)}")
        return tuple(coerce_option(f"{name}[{i}]", v, a) for i, (v, a) in enumerate(zip(value, args)))
    return value


@functools.lru_cache(maxsize=None)
def _field_types(cls: type) -> dict[str, Any]:
    """The declared (evaluated) type of every init field of the dataclass ``cls``."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(cls) if f.init}


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file and an atomic rename
    (:func:`gwrep.integrity.atomic_write_bytes`: no ``.tmp`` left on a failure, the ``OSError`` names ``path``)."""
    from gwrep.integrity import atomic_write_bytes

    atomic_write_bytes(path, text.encode("utf-8"))


def output_folder(path: str | os.PathLike, flag: str = "--out") -> Path:
    """Check, before the work that fills it, that a command can make or use its output folder ``path``.

    An existing file there, a name longer than the file system allows, a missing ancestor that
    is a file, or a folder (or nearest existing ancestor) that is not writable, such as a
    read-only mount, fails at once with one line naming the path (``NotADirectoryError``,
    ``OSError``, ``PermissionError``), not after every run was scored. Nothing is created.
    """
    out = Path(path)
    if out.exists() and not out.is_dir():  # a name too long: the OS's OSError (ENAMETOOLONG) names it here
        raise NotADirectoryError(f"{flag} {out} is a file; it must be a folder (new or existing) for the outputs")
    existing = out
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise NotADirectoryError(f"{flag} {out}: {existing} is a file, so no folder can be made below it")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(f"{flag} {out}: {existing} is not writable (permissions or a read-only mount)")
    return out


def read_json_file(path: str | os.PathLike) -> Any:
    """Parse a JSON file: ``FileNotFoundError`` if missing, ``ValueError`` naming it if malformed."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"file not found: {path}")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from None


#: Values that YAML aliases (``*name``) may add to a file beyond the values written in it. A few aliases
#: nested a few levels deep (a "billion laughs" alias bomb, a few hundred bytes) expand to billions.
MAX_ALIAS_EXPANSION = 10_000


def _yaml_children(node: Any) -> list[Any]:
    import yaml

    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expansion(root: Any, source: str) -> None:
    """Refuse a composed YAML document whose aliases expand it by more than :data:`MAX_ALIAS_EXPANSION`
    values, or that holds a recursive alias. Sizes are counted on the node graph, where an alias is one
    shared node, so the check costs the file's size, not the expansion's."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _yaml_children(node))
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise ValueError(f"{source}: line {node.start_mark.line + 1}: a YAML alias refers to a value that "
                             "contains it; a recursive structure is not a configuration")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _yaml_children(node))
    expanded, written = sizes[id(root)], len(sizes)
    if expanded - written > MAX_ALIAS_EXPANSION:
        raise ValueError(f"{source}: its YAML aliases expand {written} values to {expanded:,}, more than the "
                         f"{MAX_ALIAS_EXPANSION:,} extra values gwrep reads (an alias bomb?); write the values out")


def load_yaml(text: str, source: str) -> Any:
    """Parse YAML text safely (``yaml.SafeLoader``) with two refusals PyYAML does not make.

    - A key given twice in one mapping (PyYAML keeps the last silently): ``ValueError`` naming
      both lines. A merge key (``<<: *base``) is not a duplicate: the mapping's own keys override it.
    - Aliases that expand the document by more than :data:`MAX_ALIAS_EXPANSION` values, or a
      recursive alias: refused after parsing and before any value is built, so an alias bomb
      costs no memory, and the message names no value.

    ``source`` (the file) starts every message; a syntax error is ``ValueError`` too.
    """
    import yaml

    class Loader(yaml.SafeLoader):
        def compose_mapping_node(self, anchor: Any) -> Any:
            node = super().compose_mapping_node(anchor)
            seen: dict[tuple[str, str], Any] = {}
            for key, _ in node.value:
                if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                    continue
                first = seen.setdefault((key.tag, key.value), key)
                if first is not key:
                    raise ValueError(f"{source}: line {key.start_mark.line + 1}: key {shown(key.value)} appears twice "
                                     f"in one mapping (first on line {first.start_mark.line + 1}); YAML would keep "
                                     "only the last: give it once")
            return node

        def get_single_node(self) -> Any:
            node = super().get_single_node()
            if node is not None:
                _check_expansion(node, source)
            return node

    loader = Loader(text)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as err:
        raise ValueError(f"{source} is not valid YAML: {' '.join(str(err).split())}") from None
    finally:
        loader.dispose()


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
    (calling ``super().validate()``) to check their own fields. Before validation every field
    is parsed as its declared type by :func:`coerce_option` (booleans accept only
    true/false/yes/no/1/0, numbers are parsed and checked).
    """

    def __post_init__(self) -> None:
        # Every field is parsed as its declared type, whatever the source (CLI text, YAML, JSON,
        # Python): "no" for a bool is False, "1e-4" for a float is 0.0001, and a wrong value is one
        # ValueError naming the option. JSON's lists become the tuples a tuple field declares.
        for name, annotation in _field_types(type(self)).items():
            setattr(self, name, coerce_option(name, getattr(self, name), annotation))
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
