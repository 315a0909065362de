"""Tests of gwrep/data/images.py: image decoding, CelebA and generic folders."""
import numpy as np
import pytest
from PIL import Image

from gwrep.data.images import build_celeba, build_folder, decode_image
from gwrep.data.transforms import ImageTransform

T64 = ImageTransform(64, 3)


def test_real_celeba_split_and_crop(data_root):
    root = data_root / "celeba" / "img_align_celeba_89x109"
    sizes = [len(build_celeba(root, s, T64, 0)) for s in ("train", "val", "test", "all")]
    assert sizes == [8000, 1000, 1000, 10000]
    test = build_celeba(root, "test", T64, 0)
    x, y = test.get_batch([0, 1])
    assert x.shape == (2, 3, 64, 64) and y.tolist() == [-1, -1]
    # the authors' crop 144 of 178 px is 72 px at width 89, centred: (8, 18) .. (80, 90)
    with Image.open(test.files[test.rows[0]]) as img:
        assert img.size == (89, 109)
        ref = np.asarray(img.convert("RGB").crop((8, 18, 80, 90)).resize((64, 64), Image.BILINEAR)) / 255.0
    np.testing.assert_allclose(x[0].numpy().transpose(1, 2, 0), ref, atol=1e-6)
    gray = build_celeba(root, "test", ImageTransform(28, 1), 0).get_batch([0])[0]
    assert gray.shape == (1, 1, 28, 28)


def _folder(tmp_path, n=4):
    rng = np.random.default_rng(0)
    for i in range(n):
        sub = tmp_path / ("cats" if i % 2 else "dogs")
        sub.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)).save(sub / f"{i}.png")


def test_generic_folder(tmp_path):
    _folder(tmp_path)
    ds = build_folder(tmp_path, "all", ImageTransform(28, 1), 0, crop="square", labels="subfolders")
    x, y = ds.get_batch(np.arange(4))
    assert x.shape == (4, 1, 28, 28) and sorted(y.tolist()) == [0, 0, 1, 1]
    assert build_folder(tmp_path, "all", T64, 0).get_batch([0])[1].tolist() == [-1]


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="no image files"):
        build_folder(tmp_path, "all", T64, 0)
    with pytest.raises(FileNotFoundError, match="image folder"):
        build_folder(tmp_path / "missing", "all", T64, 0)
    _folder(tmp_path)
    (tmp_path / "fake.jpg").write_text("not a jpeg")
    with pytest.raises(ValueError, match="fake.jpg: cannot decode"):
        decode_image(tmp_path / "fake.jpg")
    Image.fromarray(np.zeros((64, 64, 3), np.uint8) + 100).save(tmp_path / "full.jpg")
    (tmp_path / "cut.jpg").write_bytes((tmp_path / "full.jpg").read_bytes()[:300])
    with pytest.raises(ValueError, match="cut.jpg: cannot decode"):
        decode_image(tmp_path / "cut.jpg")
    with pytest.raises(ValueError, match="crop 65 px does not fit a 64x64"):
        decode_image(tmp_path / "full.jpg", crop=65)
    with pytest.raises(ValueError, match="crop"):
        build_folder(tmp_path, "all", T64, 0, crop="centre")
    with pytest.raises(ValueError, match="needs root"):
        build_celeba(None, "train", T64, 0)


def test_celeba_official_partition_file(tmp_path):
    folder = tmp_path / "img_align_celeba"
    folder.mkdir()
    for i in range(1, 6):
        Image.fromarray(np.full((218, 178, 3), 40 * i, np.uint8)).save(folder / f"{i:06d}.jpg")
    (tmp_path / "list_eval_partition.txt").write_text("000001.jpg 0\n000002.jpg 0\n000003.jpg 1\n000004.jpg 2\n000005.jpg 2\n")
    rows = {s: build_celeba(folder, s, T64, 0).rows.tolist() for s in ("train", "val", "test")}
    assert rows == {"train": [0, 1], "val": [2], "test": [3, 4]}
    x = build_celeba(folder, "test", T64, 0).get_batch([1])[0]
    assert x.shape == (1, 3, 64, 64) and abs(float(x.mean()) - 200 / 255) < 0.02
    with pytest.raises(ValueError, match=r"subfolder\(s\) \['img_align_celeba'\] do"):  # the parent was given
        build_celeba(tmp_path, "test", T64, 0)
