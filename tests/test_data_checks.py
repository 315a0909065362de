"""Tests of gwrep/data/checks.py: the data set handed to gwrep.train is checked (issue 13, case 5)."""
from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

import gwrep
import gwrep.registry as registry
from gwrep.data.checks import CheckedImages, check_image_dataset
from tiny_models import ENTRY, NAME, blobs


@pytest.fixture(autouse=True)
def tiny_model(monkeypatch):
    monkeypatch.setitem(registry.MODELS, NAME, ENTRY)


def _config(tmp_path, **overrides):
    return {"model": NAME, "data": "mine", "steps": 2, "batch_size": 8, "eval_every": 0, "figures": False,
            "out": str(tmp_path / "run"), **overrides}


def test_float32_in_unit_range_passes_unchanged():
    ds = blobs(20)
    checked = check_image_dataset(ds)
    assert isinstance(checked, CheckedImages) and len(checked) == 20
    assert all(torch.equal(checked[i][0], ds[i][0]) and checked[i][1] == ds[i][1] for i in range(20))


def test_float_images_in_0_255_are_refused_through_the_api(tmp_path):
    images = blobs(40).tensors[0] * 255.0  # what trained "without a word" before
    with pytest.raises(ValueError, match=r"dataset\[0\] ranges over \[0, 255\]; images must lie in \[0, 1\] \(divide by 255\)"):
        gwrep.train(_config(tmp_path), dataset=TensorDataset(images, torch.zeros(40)), progress=False)
    assert not (tmp_path / "run").exists()  # refused before the run folder is written


def test_uint8_tensors_are_converted_and_logged(tmp_path, caplog):
    images = (blobs(40).tensors[0] * 255).to(torch.uint8)  # were a raw torch error
    with caplog.at_level(logging.WARNING, logger="gwrep.data"):
        run = gwrep.train(_config(tmp_path), dataset=TensorDataset(images, torch.zeros(40)), progress=False)
    assert run.status == "completed"
    assert any("uint8 images converted to float32 and divided by 255" in r.getMessage() for r in caplog.records)
    converted = check_image_dataset(TensorDataset(images, torch.zeros(40)))
    assert isinstance(converted, CheckedImages)
    image, target = converted[3]
    assert image.dtype == torch.float32 and torch.equal(image, blobs(40).tensors[0][3]) and target == 0


def test_float64_tensors_are_converted_and_logged(tmp_path, caplog):
    images = blobs(40).tensors[0].double()  # were a raw torch error (double input, float weights)
    with caplog.at_level(logging.WARNING, logger="gwrep.data"):
        run = gwrep.train(_config(tmp_path), dataset=TensorDataset(images, torch.zeros(40)),
                          val_dataset=TensorDataset(images[:8].half(), torch.zeros(8)), progress=False)
    assert run.status == "completed"
    messages = [r.getMessage() for r in caplog.records]
    assert "dataset: float64 images converted to float32 (the models' dtype)" in messages
    assert "val_dataset: float16 images converted to float32 (the models' dtype)" in messages


@pytest.mark.parametrize("images, match", [
    (torch.rand(10, 28, 28), r"dataset\[0\] has shape \(28, 28\).*add a channel dimension"),
    (torch.rand(10, 28, 28, 1), r"shape \(28, 28, 1\) with 28 channels.*channels-last: permute"),
    (torch.rand(10, 2, 28, 28), r"with 2 channels"),
    (torch.randint(0, 2, (10, 1, 28, 28)), r"dtype torch.int64"),
    (torch.rand(10, 1, 28, 28) - 0.5, r"dataset\[0\] ranges over \[-0.\d+, 0.\d+\]; images must lie in \[0, 1\]$"),
    (torch.full((10, 1, 28, 28), float("nan")), "NaN or infinite"),
])
def test_bad_images_are_one_clear_line(images, match):
    with pytest.raises(ValueError, match=match) as info:
        check_image_dataset(TensorDataset(images, torch.zeros(len(images))))
    assert "\n" not in str(info.value)


def test_items_of_images_alone_and_numpy_arrays():
    arrays = [np.full((1, 28, 28), 200, dtype=np.uint8) for _ in range(5)]
    converted = check_image_dataset(arrays)
    assert converted[4].dtype == torch.float32 and float(converted[4].max()) == pytest.approx(200 / 255)
    with pytest.raises(ValueError, match=r"dataset\[1\] has shape \(3, 28, 28\) but the set's images are \(1, 28, 28\)"):
        check_image_dataset([torch.zeros(1, 28, 28), torch.zeros(3, 28, 28)])
    with pytest.raises(ValueError, match="is empty"):
        check_image_dataset([], "val_dataset")
    with pytest.raises(ValueError, match=r"dataset\[0\] gives a str"):
        check_image_dataset(["image.png"])


def test_clip_sets_take_four_dimensional_items():
    class Clips(TensorDataset):
        clip_length = 4

    clips = Clips(torch.rand(6, 4, 1, 28, 28), torch.zeros(6))
    assert torch.equal(check_image_dataset(clips)[5][0], clips[5][0])
    with pytest.raises(ValueError, match=r"\(T, C, H, W\) clips"):
        check_image_dataset(Clips(torch.rand(6, 1, 28, 28), torch.zeros(6)))
