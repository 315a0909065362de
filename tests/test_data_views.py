"""Tests of gwrep/data/views.py: the torch Dataset views and the seeded splits."""
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from gwrep.data.factordata import DummyFactorData
from gwrep.data.views import ArrayImageDataset, FactorDataset, split_rows


def test_split_rows_partition_is_seeded_and_disjoint():
    parts = [split_rows(1000, s, seed=4) for s in ("train", "val", "test")]
    assert [len(p) for p in parts] == [800, 100, 100]
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(1000))
    np.testing.assert_array_equal(parts[1], split_rows(1000, "val", seed=4))
    assert not np.array_equal(parts[1], split_rows(1000, "val", seed=5))
    with pytest.raises(ValueError, match="split"):
        split_rows(10, "training")


def test_factor_dataset_items_batches_and_loader():
    data = DummyFactorData((3, 4))
    ds = FactorDataset(data)
    assert len(ds) == 12 and ds.image_shape == (2, 1, 1)
    image, target = ds[7]
    assert image.dtype == torch.float32 and target.dtype == torch.int64
    assert target.tolist() == [1, 3] and torch.allclose(image.flatten(), torch.tensor([0.5, 1.0]))
    assert ds[-1][1].tolist() == [2, 3]
    with pytest.raises(IndexError):
        ds[12]
    images, targets = next(iter(DataLoader(ds, batch_size=5, shuffle=False)))  # uses __getitems__
    assert images.shape == (5, 2, 1, 1) and targets.tolist()[4] == [1, 0]


def test_array_dataset_scales_uint8():
    imgs = np.arange(4 * 4, dtype=np.uint8).reshape(4, 1, 2, 2) * 17
    ds = ArrayImageDataset(imgs, np.arange(4), rows=np.array([2, 3]))
    x, y = ds.get_batch([0, 1])
    assert y.tolist() == [2, 3]
    np.testing.assert_allclose(x.numpy() * 255, imgs[[2, 3]], atol=1e-4)
