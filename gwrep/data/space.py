"""Index <-> factor arithmetic of a full factorial grid, apart from any image storage.

A grid with factor sizes ``(s_1, ..., s_K)`` has ``prod(s_k)`` states; state ``i`` is the
mixed-radix number whose digits are the factor classes, the last factor varying fastest
(the row order of dSprites and 3D Shapes, as ``numpy.ravel_multi_index``). Modelled on
nmichlo/disent's ``StateSpace`` and disentanglement_lib's ``SplitDiscreteStateSpace``.

>>> space = FactorSpace((3, 2))
>>> space.factors_to_indices([[1, 0], [2, 1]]).tolist()
[2, 5]
>>> space.indices_to_factors([5]).tolist()
[[2, 1]]
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["FactorSpace"]


class FactorSpace:
    """The factor grid ``prod_k range(factor_sizes[k])`` and its row-major numbering.

    Parameters
    ----------
    factor_sizes : sequence of int
        Number of classes of each factor, every one >= 1.
    factor_names : sequence of str, optional
        Names used in error messages (default ``f0, f1, ...``).
    """

    def __init__(self, factor_sizes: Sequence[int], factor_names: Sequence[str] | None = None) -> None:
        sizes = tuple(int(s) for s in factor_sizes)
        if not sizes or min(sizes) < 1:
            raise ValueError(f"factor_sizes must be a non-empty sequence of positive ints, got {tuple(factor_sizes)}")
        names = tuple(factor_names) if factor_names is not None else tuple(f"f{k}" for k in range(len(sizes)))
        if len(names) != len(sizes):
            raise ValueError(f"{len(names)} factor names for {len(sizes)} factor sizes")
        self.factor_sizes = sizes
        self.factor_names = names
        # strides[k] = prod(sizes[k+1:]), so index = sum_k f_k * strides[k].
        self.strides = np.cumprod((1,) + sizes[:0:-1])[::-1].astype(np.int64)

    @property
    def num_factors(self) -> int:
        return len(self.factor_sizes)

    @property
    def num_states(self) -> int:
        return int(np.prod(self.factor_sizes, dtype=np.int64))

    def __len__(self) -> int:
        return self.num_states

    def __repr__(self) -> str:
        return f"FactorSpace({dict(zip(self.factor_names, self.factor_sizes))})"

    def check_factors(self, factors: np.ndarray | Sequence) -> np.ndarray:
        """``factors`` as an int64 array (n, K); ValueError naming the factor if any is out of range."""
        arr = np.asarray(factors)
        if arr.ndim == 1 and arr.shape[0] == self.num_factors:
            arr = arr[None]
        if arr.ndim != 2 or arr.shape[1] != self.num_factors:
            raise ValueError(f"factors must have shape (n, {self.num_factors}), got {arr.shape}")
        if arr.dtype.kind not in "biuf":  # strings, objects, ...: numpy's own error would not say which
            raise ValueError(f"factors must be integer class indices, got dtype {arr.dtype} (kind {arr.dtype.kind!r})")
        if arr.size and arr.dtype.kind == "f":
            whole = np.mod(arr, 1) == 0  # False for fractions, nan and inf
            if not whole.all():
                raise ValueError(f"factors must be integer class indices, got dtype {arr.dtype} with value "
                                 f"{arr[~whole][0]}")
        arr = arr.astype(np.int64, copy=False)
        for k, (name, size) in enumerate(zip(self.factor_names, self.factor_sizes)):
            col = arr[:, k]
            if col.size and (col.min() < 0 or col.max() >= size):
                bad = col[(col < 0) | (col >= size)][0]
                raise ValueError(f"factor {name!r} (column {k}) has value {bad} outside [0, {size - 1}]")
        return arr

    def factors_to_indices(self, factors: np.ndarray | Sequence) -> np.ndarray:
        """Row-major state index of each factor tuple: int64 (n,)."""
        return self.check_factors(factors) @ self.strides

    def indices_to_factors(self, indices: np.ndarray | Sequence[int]) -> np.ndarray:
        """Factor tuples (n, K) int64 of state indices (n,)."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_states):
            bad = idx[(idx < 0) | (idx >= self.num_states)][0]
            raise ValueError(f"state index {bad} outside [0, {self.num_states - 1}]")
        return (idx[:, None] // self.strides[None, :]) % np.asarray(self.factor_sizes, dtype=np.int64)

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` factor tuples drawn uniformly and independently: int64 (n, K)."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        return np.stack([rng.integers(0, s, size=n) for s in self.factor_sizes], axis=1).astype(np.int64)
