"""A resumable, seeded batch order: the data position is (epoch, batch index).

Each epoch's order is a permutation drawn from its own generator seeded by
``(seed, epoch)``, so the order never depends on how many random numbers the model
drew, and a run resumed at (epoch, batch) sees exactly the batches it would have seen.

>>> s = EpochBatchSampler(10, batch_size=4, seed=0, epoch=0)
>>> len(s), [len(b) for b in s]
(2, [4, 4])
>>> list(EpochBatchSampler(10, 4, seed=0, epoch=0, start_batch=1)) == list(s)[1:]
True
"""
from __future__ import annotations

from typing import Iterator

import torch
from torch.utils.data import Sampler

__all__ = ["EpochBatchSampler", "epoch_seed"]


def epoch_seed(seed: int, epoch: int) -> int:
    """The generator seed of one epoch's permutation (distinct for every (seed, epoch))."""
    return (seed * 1_000_003 + epoch) % (2**63 - 1)


class EpochBatchSampler(Sampler[list[int]]):
    """Batches of one epoch of a seeded permutation of ``range(n)``, from ``start_batch`` on.

    Incomplete last batches are dropped, so every batch has ``batch_size`` indices.
    """

    def __init__(self, n: int, batch_size: int, seed: int, epoch: int, start_batch: int = 0):
        if batch_size > n:
            raise ValueError(f"batch_size {batch_size} is larger than the data set ({n} items)")
        self.n, self.batch_size, self.seed, self.epoch, self.start_batch = n, batch_size, seed, epoch, start_batch

    @property
    def batches_per_epoch(self) -> int:
        return self.n // self.batch_size

    def __len__(self) -> int:
        return max(self.batches_per_epoch - self.start_batch, 0)

    def __iter__(self) -> Iterator[list[int]]:
        gen = torch.Generator().manual_seed(epoch_seed(self.seed, self.epoch))
        perm = torch.randperm(self.n, generator=gen).tolist()
        for b in range(self.start_batch, self.batches_per_epoch):
            yield perm[b * self.batch_size:(b + 1) * self.batch_size]
