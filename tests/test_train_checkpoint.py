"""Tests for gwrep/train/checkpoint.py: atomic writes, weights_only loading, RNG round trip."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from gwrep.train.checkpoint import capture_rng_state, load_checkpoint, restore_rng_state, save_checkpoint


def draws():
    return random.random(), random.gauss(0, 1), np.random.rand(3).tolist(), torch.rand(3).tolist()


def test_rng_round_trip_through_a_file(tmp_path):
    random.gauss(0, 1)  # leaves a cached Gaussian in Python's state
    np.random.standard_normal()  # and in NumPy's
    save_checkpoint(tmp_path / "c.pt", {"rng": capture_rng_state()})
    first = draws()
    restore_rng_state(load_checkpoint(tmp_path / "c.pt")["rng"])
    assert draws() == first


def test_atomic_and_weights_only(tmp_path):
    path = save_checkpoint(tmp_path / "sub" / "c.pt", {"w": torch.arange(3), "step": 4})
    assert sorted(p.name for p in path.parent.iterdir()) == ["c.pt"]  # no temporary left
    state = torch.load(path, weights_only=True)
    assert state["step"] == 4 and torch.equal(state["w"], torch.arange(3)) and state["format"] == 1


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_checkpoint(tmp_path / "nope.pt")
    torch.save({"w": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a gwrep checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
