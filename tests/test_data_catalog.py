"""Tests of gwrep/data/catalog.py: the load / load_factor_data entry points, options and protocols."""
import numpy as np
import pytest
import torch

import gwrep.data as gd
from gwrep.data.base import FactorData


def test_names_and_pinned_contract():
    assert gd.dataset_names() == ["shapes2d", "shapes3d", "dsprites", "shapes3d-h5", "color-dsprites",
                                  "noisy-dsprites", "scream-dsprites", "smallnorb", "cars3d", "mpi3d-toy",
                                  "mpi3d-realistic", "mpi3d-real", "sprite-clips", "lpc-sprites", "mnist", "omniglot",
                                  "celeba", "folder"]
    ds = gd.load("shapes3d", split="test")
    assert len(ds) == 48000 and ds.image_shape == (3, 64, 64)
    image, target = ds[5]
    assert image.dtype == torch.float32 and image.shape == (3, 64, 64) and 0 <= image.min() <= image.max() <= 1
    assert target.dtype == torch.int64 and target.shape == (6,)
    assert isinstance(ds.factor_data, FactorData)
    obs = ds.factor_data.sample_observations_from_factors(target[None].numpy(), np.random.default_rng(0))
    np.testing.assert_array_equal(obs[0], image.numpy())


def test_splits_partition_the_grid():
    rows = [gd.load("shapes2d", split=s, seed=1).rows for s in ("train", "val", "test")]
    assert [len(r) for r in rows] == [589824, 73728, 73728]
    assert len(np.unique(np.concatenate(rows))) == 737280 and len(gd.load("shapes2d", split="all")) == 737280


def test_options_and_protocols():
    ds = gd.load("shapes2d", image_size=28, channels=3)
    assert ds.image_shape == (3, 28, 28) and ds.factor_data.observation_shape == (3, 28, 28)
    assert ds[0][0].shape == (3, 28, 28)
    assert gd.load("shapes3d", protocol="gwae").image_shape == (3, 64, 64)
    assert gd.load("shapes3d", protocol="gwae", channels=1).image_shape == (1, 64, 64)  # explicit beats protocol
    data = gd.load_factor_data("shapes2d")
    assert data.observation_shape == (1, 64, 64) and data.factor_sizes == (3, 6, 40, 32, 32)


def test_protocols_on_real_data(data_root):
    gwae = gd.load("mnist", data_root / "mnist", protocol="gwae")
    assert gwae.image_shape == (3, 64, 64) and len(gwae) == 54000
    ood = gd.load("omniglot", data_root / "omniglot", split="test", protocol="gwae")
    clean = gd.load("omniglot", data_root / "omniglot", split="test", protocol="clean")
    assert ood.image_shape == (3, 64, 64) and clean.image_shape == (1, 28, 28)
    assert ood[0][0].mean() > 0.5 > clean[0][0].mean()  # gwae keeps the files' polarity, clean inverts


@pytest.mark.parametrize("call, match", [
    (lambda: gd.load("cifar"), "unknown data set 'cifar'.*shapes2d.*folder"),
    (lambda: gd.load("shapes2d", image_sise=28), r"unknown option\(s\) \['image_sise'\].*image_size"),
    (lambda: gd.load("shapes2d", polarity="mnist"), "unknown option.*polarity"),
    (lambda: gd.load("shapes2d", root="/tmp"), "procedural"),
    (lambda: gd.load("mnist"), "needs root"),
    (lambda: gd.load("shapes2d", image_size=32), "image_size"),
    (lambda: gd.load("shapes2d", protocol="paper"), "protocol"),
    (lambda: gd.load("shapes2d", seed=1.5), "seed"),
    (lambda: gd.load("shapes2d", split="dev"), "split"),
    (lambda: gd.load_factor_data("mnist", "/tmp"), "no ground-truth factors"),
])
def test_bad_calls(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_dataset_root(tmp_path):
    """--data-root DIR: DIR/<set> when that folder exists, else DIR; None for procedural sets."""
    from gwrep.data import dataset_root

    (tmp_path / "mnist").mkdir()
    assert dataset_root(tmp_path, "mnist") == str(tmp_path / "mnist")
    assert dataset_root(tmp_path, "omniglot") == str(tmp_path)  # the set's own folder
    assert dataset_root(tmp_path, "shapes2d") is None  # procedural
    assert dataset_root(None, "mnist") is None
    assert dataset_root(tmp_path, "color-dsprites") == str(tmp_path)  # files optional: the folder itself
    (tmp_path / "dsprites").mkdir()
    assert dataset_root(tmp_path, "color-dsprites") == str(tmp_path / "dsprites")  # another name of its folder


def test_data_options_are_parsed_by_their_declared_types():
    """Issue 13: data options get the typed parsing model options get ("28" is 28; "big" is one clear error)."""
    from gwrep.data.catalog import _resolve

    _, transform, seed, _ = _resolve("shapes2d", {"image_size": "28", "seed": "3"})
    assert transform.image_size == 28 and seed == 3
    with pytest.raises(ValueError, match=r"option image_size: 'big' is not an integer"):
        gd.load("shapes2d", split="val", image_size="big")
    with pytest.raises(ValueError, match=r"option seed: True is not an integer"):
        gd.load("shapes2d", split="val", seed=True)
    with pytest.raises(ValueError, match=r"option polarity: 5 is not a string"):
        _resolve("omniglot", {"polarity": 5})
