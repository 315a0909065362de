"""Tests of gwrep/data/transforms.py: resize, channels, inversion."""
import numpy as np
import pytest
import torch

from gwrep.data.transforms import ImageTransform


def test_identity_and_channels():
    x = np.random.default_rng(0).random((3, 1, 8, 8), dtype=np.float32)
    np.testing.assert_array_equal(ImageTransform()(x), x)
    rgb = ImageTransform(channels=3)(x)
    assert rgb.shape == (3, 3, 8, 8) and all(np.array_equal(rgb[:, c], x[:, 0]) for c in range(3))
    gray = ImageTransform(channels=1)(rgb)
    np.testing.assert_allclose(gray, x, atol=1e-6)  # luma weights sum to 1
    np.testing.assert_allclose(ImageTransform(invert=True)(x), 1 - x)


def test_resize_matches_torch_and_keeps_range():
    x = np.random.default_rng(0).random((2, 3, 64, 64), dtype=np.float32)
    y = ImageTransform(image_size=28)(x)
    ref = torch.nn.functional.interpolate(torch.from_numpy(x), size=(28, 28), mode="bilinear", antialias=True)
    np.testing.assert_allclose(y, ref.clamp(0, 1).numpy(), atol=1e-6)
    assert 0 <= y.min() and y.max() <= 1
    const = ImageTransform(image_size=64)(np.full((1, 1, 28, 28), 0.25, np.float32))
    np.testing.assert_allclose(const, 0.25, atol=1e-6)


@pytest.mark.parametrize("kwargs, match", [({"image_size": 32}, "image_size"), ({"channels": 2}, "channels")])
def test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ImageTransform(**kwargs)


def test_bad_batch_shape():
    with pytest.raises(ValueError, match="batch"):
        ImageTransform()(np.zeros((8, 8), np.float32))
    with pytest.raises(ValueError, match="2 channels"):
        ImageTransform(channels=1)(np.zeros((1, 2, 8, 8), np.float32))
