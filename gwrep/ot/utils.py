"""Shared pieces of the OT engine: the convergence warning and the input checks.

Every public solver calls these checks at its top, so bad input fails early with a
``ValueError`` that names the argument and the problem (shape, value, dtype), never an
``AssertionError`` deep inside a loop. Private helpers trust their callers.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch import Tensor

__all__ = [
    "ConvergenceWarning",
    "as_tensor",
    "check_epsilon",
    "check_finite",
    "LOW_PRECISION",
    "check_precision",
    "upcast_low_precision",
    "check_iterations",
    "check_choice",
    "check_costs",
    "check_points",
    "check_marginal",
    "batched",
    "default_tol",
    "check_pair",
    "initial_plan",
    "to_numpy",
    "check_input_pair",
]


class ConvergenceWarning(UserWarning):
    """A solver stopped at its iteration limit before reaching its tolerance."""


def as_tensor(name: str, value: Any, like: Tensor | None = None) -> Tensor:
    """Return ``value`` as a floating torch tensor (numpy arrays are wrapped, dtype kept).

    With ``like``, a value that is not yet a tensor (list, numpy array) is converted straight
    into ``like``'s dtype and device, so a list of Python floats keeps its float64 digits
    instead of passing through torch's float32 default. Tensors are returned unchanged.
    """
    if isinstance(value, Tensor):
        tensor = value
    else:
        try:
            tensor = torch.as_tensor(value)
            if like is not None and tensor.is_floating_point():
                tensor = torch.as_tensor(value, dtype=like.dtype, device=like.device)
        except (TypeError, ValueError, RuntimeError) as err:
            raise ValueError(f"{name} must be a tensor or array, got {type(value).__name__}") from err
    if not tensor.is_floating_point():
        raise ValueError(f"{name} must have a floating dtype, got {tensor.dtype}")
    return tensor


#: Floating dtypes the iterative solvers refuse (see :func:`check_precision`).
LOW_PRECISION = (torch.float16, torch.bfloat16)


def check_precision(name: str, tensor: Tensor, solver: str) -> None:
    """Refuse float16 / bfloat16 input to an iterative solver with a ``ValueError`` saying what to do.

    Half precision has an 11-bit (float16) or 8-bit (bfloat16) mantissa: the Sinkhorn potentials,
    the plan's marginal error and the GW gradient lose the digits the tolerances are measured in,
    and a float16 entropic GW value came out 13-22% (up to 2x) off its float32 value with only a
    convergence warning. No value is better than a wrong one: the caller computes in float32
    (``tensor.float()``) and casts the result back if it wants to.
    """
    if tensor.dtype in LOW_PRECISION:
        raise ValueError(f"{solver}: {name} is {tensor.dtype}, too coarse for an iterative OT solver (values come out "
                         f"13-22% off or worse); compute in float32: pass {name}.float() and cast the result back")


def upcast_low_precision(tensor: Tensor) -> Tensor:
    """``tensor`` in float32 when it is float16 / bfloat16 (differentiable cast), else unchanged.

    For the GWAE losses, which are called inside mixed-precision training: they compute in
    float32 and return a float32 value, as ``torch.autocast`` runs ``cdist`` in float32.
    """
    return tensor.float() if tensor.dtype in LOW_PRECISION else tensor


def check_finite(name: str, tensor: Tensor) -> None:
    """Raise ValueError when ``tensor`` holds NaN or infinite entries."""
    finite = torch.isfinite(tensor.detach())
    if not bool(finite.all()):
        bad = int((~finite).sum())
        raise ValueError(f"{name} contains {bad} NaN or infinite entries")


def check_epsilon(epsilon: float | Tensor, name: str = "epsilon") -> float:
    """Entropic regularisation (or another scale, named ``name``) must be a finite positive number
    (a one-element tensor is read as its number)."""
    try:
        value = float(epsilon.detach()) if isinstance(epsilon, Tensor) else float(epsilon)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a positive number, got {epsilon!r}") from err
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {epsilon!r}")
    return value


def check_iterations(name: str, max_iter: int, tol_name: str, tol: float) -> tuple[int, float]:
    """An iteration limit must be an integer >= 1 and a tolerance a number >= 0."""
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {max_iter!r}")
    tol_value = float(tol)
    if not tol_value >= 0:
        raise ValueError(f"{tol_name} must be a number >= 0, got {tol!r}")
    return max_iter, tol_value


def check_choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    """Raise ValueError listing the allowed values when ``value`` is not one of them."""
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(map(repr, allowed))}")
    return value


def check_costs(name: str, C: Tensor) -> None:
    """A cost matrix is (n, n) or batched (B, n, n), finite, n >= 1."""
    if C.dim() not in (2, 3) or C.shape[-1] != C.shape[-2] or C.shape[-1] < 1:
        raise ValueError(f"{name} must be a square matrix (n, n) or a batch (B, n, n), got shape {tuple(C.shape)}")
    check_finite(name, C)


def check_points(name: str, X: Tensor) -> None:
    """A point cloud is (n, d) or batched (B, n, d), finite, n >= 1, d >= 1."""
    if X.dim() not in (2, 3) or X.shape[-2] < 1 or X.shape[-1] < 1:
        raise ValueError(f"{name} must be points (n, d) or a batch (B, n, d), got shape {tuple(X.shape)}")
    check_finite(name, X)


def _sum_tolerance(*dtypes: torch.dtype) -> float:
    """How far from 1 a marginal may sum: 1e-6 when every dtype involved is float64, else 1e-4."""
    return 1e-6 if all(dtype == torch.float64 for dtype in dtypes) else 1e-4


def check_marginal(name: str, w: Any, size: int, batch: int | None, like: Tensor) -> Tensor:
    """Return the marginal ``w`` as a (B, size) tensor of ``like``'s dtype and device, summing to 1.

    ``None`` gives uniform weights 1/size. Otherwise ``w`` must be (size,) or (B, size),
    strictly positive, finite and sum to 1 (to 1e-6 in float64, 1e-4 if it or ``like`` has lower
    precision). A list or array is converted straight into ``like``'s dtype and device; a tensor
    must already be on ``like``'s device and is cast to its dtype. The accepted weights are then
    renormalised, w / sum(w): balanced OT needs sum(p) = sum(q) exactly, and two marginals whose
    sums differ by round-off (a float32 list [0.2] * 5 sums to 1 + 1.5e-8) leave a column error
    that no Sinkhorn iteration can bring below a tolerance of 1e-9.
    """
    B = 1 if batch is None else batch
    if w is None:
        return torch.full((B, size), 1.0 / size, dtype=like.dtype, device=like.device)
    w = as_tensor(name, w, like)
    if w.device != like.device:
        raise ValueError(f"{name} is on {w.device} but the costs are on {like.device}")
    given_dtype = w.dtype
    w = w.to(like.dtype)
    if w.shape == (size,):
        w = w.expand(B, size)
    elif w.shape != (B, size) or batch is None:
        expected = f"({size},)" if batch is None else f"({size},) or ({B}, {size})"
        raise ValueError(f"{name} must have shape {expected}, got {tuple(w.shape)}")
    check_finite(name, w)
    if bool((w <= 0).any()):
        raise ValueError(f"{name} must be strictly positive (drop points of zero mass), min is {float(w.min()):.3g}")
    sums = w.sum(-1, keepdim=True)
    worst = (sums.detach() - 1).abs()
    if float(worst.max()) > _sum_tolerance(given_dtype, like.dtype):
        raise ValueError(f"{name} must sum to 1, but sums to {float(sums.flatten()[worst.argmax()]):.9g}")
    return w / sums


def batched(tensor: Tensor) -> tuple[Tensor, bool]:
    """Add a leading batch dimension to an unbatched (2-d) tensor; say whether it had one."""
    if tensor.dim() == 3:
        return tensor, True
    return tensor.unsqueeze(0), False


def default_tol(tol: float | None, dtype: torch.dtype) -> float:
    """``tol``, or when None the dtype's default: 1e-9 in float64 (POT's), 1e-5 in lower precision,
    where round-off alone keeps plan changes and marginal errors above 1e-9."""
    if tol is not None:
        return tol
    return 1e-9 if dtype == torch.float64 else 1e-5


def check_pair(name1: str, A: Tensor, name2: str, B: Tensor) -> None:
    """Two inputs of one problem must agree in batching (both batched with one size, or neither),
    dtype and device."""
    if A.dim() != B.dim() or (A.dim() == 3 and A.shape[0] != B.shape[0]):
        raise ValueError(f"mismatched batch sizes: {name1} has shape {tuple(A.shape)} and {name2} {tuple(B.shape)}")
    if A.dtype != B.dtype or A.device != B.device:
        raise ValueError(f"{name1} ({A.dtype}, {A.device}) and {name2} ({B.dtype}, {B.device}) differ in dtype or "
                         "device")


def initial_plan(G0: Any, p: Tensor, q: Tensor, batch: int | None) -> Tensor:
    """The (B, n, m) starting plan: ``G0`` checked (shape, finite, non-negative), or p q^T."""
    if G0 is None:
        return p[:, :, None] * q[:, None, :]
    B, n, m = p.shape[0], p.shape[1], q.shape[1]
    given = as_tensor("G0", G0, p)
    T0, _ = batched(given.to(p))
    if T0.shape != (B, n, m):
        raise ValueError(f"G0 must have shape {(n, m) if batch is None else (B, n, m)}, got {tuple(given.shape)}")
    check_finite("G0", T0)
    if bool((T0 < 0).any()):
        raise ValueError("G0 must be non-negative")
    return T0.detach()


def to_numpy(value: Any) -> Any:
    """Tensors (also inside lists) as numpy arrays, anything else unchanged: numpy in, numpy out."""
    if isinstance(value, Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, list):
        return [to_numpy(v) for v in value]
    return value


def check_input_pair(names: tuple[str, str], values: tuple[Any, Any], check: Callable[[str, Tensor], None],
                     solver: str) -> tuple[Tensor, Tensor, bool]:
    """The two arrays of one problem (costs or point clouds) as tensors, each refused in half precision
    and passed through ``check``, then checked as a pair; also whether both came as non-tensors
    (numpy in, numpy out)."""
    as_numpy = not any(isinstance(v, Tensor) for v in values)
    tensors = [as_tensor(name, value) for name, value in zip(names, values)]
    for name, tensor in zip(names, tensors):
        check_precision(name, tensor, solver)
        check(name, tensor)
    check_pair(names[0], tensors[0], names[1], tensors[1])
    return tensors[0], tensors[1], as_numpy
