"""Tests for gwrep/train/sampler.py: seeded epochs, resuming inside an epoch."""
from __future__ import annotations

import pytest
import torch

from gwrep.train.sampler import EpochBatchSampler


def test_each_epoch_is_a_seeded_permutation():
    a = [i for b in EpochBatchSampler(12, 4, seed=3, epoch=0) for i in b]
    assert sorted(a) == list(range(12))
    assert a == [i for b in EpochBatchSampler(12, 4, seed=3, epoch=0) for i in b]
    assert a != [i for b in EpochBatchSampler(12, 4, seed=3, epoch=1) for i in b]
    assert a != [i for b in EpochBatchSampler(12, 4, seed=4, epoch=0) for i in b]


def test_order_ignores_the_global_rng():
    torch.manual_seed(0)
    a = list(EpochBatchSampler(10, 3, seed=0, epoch=2))
    torch.manual_seed(1)
    assert list(EpochBatchSampler(10, 3, seed=0, epoch=2)) == a


def test_resume_and_drop_last():
    full = list(EpochBatchSampler(10, 3, seed=0, epoch=0))
    assert len(full) == 3 and all(len(b) == 3 for b in full)
    rest = EpochBatchSampler(10, 3, seed=0, epoch=0, start_batch=2)
    assert len(rest) == 1 and list(rest) == full[2:]


def test_batch_larger_than_data():
    with pytest.raises(ValueError, match="larger than the data set"):
        EpochBatchSampler(3, 4, seed=0, epoch=0)
