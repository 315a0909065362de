"""Tests for gwrep/train/run.py: opening run folders and reading metrics."""
from __future__ import annotations

import pytest

from gwrep.train.run import load_run, load_run_model, read_metrics


def test_read_metrics_filters_by_split(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "split": "train", "loss": 2.0}\n\n{"step": 1, "split": "val", "loss": 3.0}\n')
    assert [r["loss"] for r in read_metrics(path)] == [2.0, 3.0]
    assert read_metrics(path, "val") == [{"step": 1, "split": "val", "loss": 3.0}]
    path.write_text('{"step": 1}\n{oops\n')
    with pytest.raises(ValueError, match=r"metrics.jsonl:2"):
        read_metrics(path)


def test_missing_things_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a gwrep run folder"):
        load_run(tmp_path)
    with pytest.raises(FileNotFoundError, match="holds no model"):
        load_run_model(tmp_path)
    with pytest.raises(FileNotFoundError, match="run folder not found"):
        load_run_model(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="metrics file not found"):
        read_metrics(tmp_path / "metrics.jsonl")
