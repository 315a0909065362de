"""Tests of gwrep/data/smallnorb.py: SmallNORB from files in the official binary matrix format."""
import warnings

import numpy as np
import pytest
from PIL import Image

import gwrep.data as gd
from data_writers import BYTE_MAGIC, CHUNKS, INT_MAGIC, lookup_representation, norb_grid, write_norb_matrix, \
    write_smallnorb
from gwrep.data.factordata import NotAFullGridWarning
from gwrep.data.smallnorb import SMALLNORB_FACTORS, load_smallnorb


def _rows(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, s, n) for s in (5, 10, 9, 18, 6)], 1)


@pytest.fixture
def small(tmp_path):
    """20 + 15 random rows at the official 96x96: a partial grid."""
    written = write_smallnorb(tmp_path / "norb", {CHUNKS[0]: _rows(20, 1), CHUNKS[1]: _rows(15, 2)})
    return tmp_path / "norb", written


def test_round_trip_images_and_factors(small):
    """Rows: training then testing; image = the LEFT camera resized 96 -> 64 by PIL Lanczos (dlib's ANTIALIAS), /255;
    factors: category, elevation, azimuth / 2, lighting (the instance left out)."""
    folder, written = small
    with pytest.warns(NotAFullGridWarning):
        data = load_smallnorb(folder)
    assert data.factor_names == SMALLNORB_FACTORS and data.factor_sizes == (5, 9, 18, 6)
    assert data.nuisance_names == ("instance",) and data.num_rows == 35 and data.observation_shape == (1, 64, 64)
    dat = np.concatenate([written[c]["dat"] for c in CHUNKS])
    rows = np.concatenate([written[c]["rows"] for c in CHUNKS])
    expected = np.stack([np.asarray(Image.fromarray(d[0]).resize((64, 64), Image.LANCZOS)) for d in dat]) / 255.0
    np.testing.assert_allclose(data.row_observations(np.arange(35))[:, 0], expected, atol=1e-7)
    np.testing.assert_array_equal(data.row_factors(np.arange(35)), rows[:, [0, 2, 3, 4]])
    right = np.asarray(Image.fromarray(dat[0, 1]).resize((64, 64), Image.LANCZOS)) / 255.0
    assert np.abs(data.row_observations([0])[0, 0] - right).max() > 0.1  # the right camera is not used


def test_instance_is_a_uniform_nuisance(tmp_path):
    """Full latent grid with two instances per chunk: an observation of a latent tuple is one of its 4 rows,
    each about equally often (dlib draws the instance uniformly)."""
    folder = tmp_path / "norb"
    write_smallnorb(folder, {CHUNKS[0]: norb_grid((4, 6)), CHUNKS[1]: norb_grid((0, 1))}, side=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_smallnorb(folder)  # a full grid: no warning
    assert data.is_full_grid and data.num_rows == 4 * 4860
    factors = np.repeat([[2, 3, 7, 1]], 4000, axis=0)
    rows = data.sample_rows(factors, np.random.default_rng(0))
    assert (data.row_factors(rows) == factors).all()
    instances = data.base.row_factors(rows)[:, 1]
    counts = np.array([(instances == i).sum() for i in (0, 1, 4, 6)])
    assert counts.sum() == 4000 and np.abs(counts - 1000).max() < 100  # 4 sd of a binomial(4000, 1/4) is 110
    obs = data.sample_observations_from_factors(factors[:3], np.random.default_rng(0))
    np.testing.assert_array_equal(obs, data.row_observations(rows[:3]))


def test_catalog_metrics_show_and_train(tmp_path, capsys):
    """The set through gwrep.data.load, the MIG of a perfect representation, gwrep data show and gwrep train."""
    from gwrep.cli import main
    from gwrep.eval.metrics.mig import compute_mig

    write_smallnorb(tmp_path / "small_norb", {CHUNKS[0]: norb_grid((4,)), CHUNKS[1]: norb_grid((0,))}, side=4)
    root = gd.dataset_root(tmp_path, "smallnorb")  # dlib's folder name small_norb/
    assert root == str(tmp_path / "small_norb")
    ds = gd.load("smallnorb", root, split="val", image_size=28)
    image, target = ds[0]
    assert image.shape == (1, 28, 28) and target.shape == (4,) and len(ds) == 972
    data = gd.load_factor_data("smallnorb", root)
    assert compute_mig(lookup_representation(data), data, num_train=1000)["discrete_mig"] > 0.9
    assert main(["data", "show", "smallnorb", "--root", root, "--out", str(tmp_path / "s.png")]) == 0
    out = tmp_path / "run"
    assert main(["train", "--model", "beta-vae", "--data", "smallnorb", "--data-root", str(tmp_path), "--steps", "2",
                 "--image-size", "28", "--batch-size", "8", "--eval-every", "0", "--no-figures", "--no-progress",
                 "--out", str(out)]) == 0
    assert (out / "checkpoints" / "last.pt").is_file()


@pytest.mark.parametrize("damage, message", [
    ("unknown_magic", "wrong magic number 0x12345678"),
    ("int_images", "is a int32 matrix; expected uint8"),
    ("one_camera", "wrong shape (20, 1, 96, 96): expected (N, 2, S, S)"),
    ("info_columns", "wrong shape (20, 3): expected (N, 4)"),
    ("truncated", "truncated: the header declares shape (20, 2, 96, 96) uint8"),
    ("declares_more", "truncated: the header declares shape (1000000000, 2, 96, 96) uint8"),
    ("extra_bytes", "the declared size does not fit the file"),
    ("short_header", "shorter than a NORB matrix header"),
    ("azimuth_odd", "azimuth of row 0 is 3, not one of 0, 2, ..., 34"),
    ("row_counts", "disagree on the row count: dat 20, cat 19"),
])
def test_bad_files_one_line(small, damage, message):
    """Each damage: one ValueError naming the file and the problem; nothing read past the file's size."""
    folder, written = small
    chunk = CHUNKS[0]
    dat, rows = written[chunk]["dat"], written[chunk]["rows"]
    path = folder / f"smallnorb-{chunk}-dat.mat"
    if damage == "unknown_magic":
        raw = bytearray(path.read_bytes())
        raw[:4] = (0x12345678).to_bytes(4, "little")
        path.write_bytes(bytes(raw))
    elif damage == "int_images":
        write_norb_matrix(path, dat.astype(np.int32), INT_MAGIC)
    elif damage == "one_camera":
        write_norb_matrix(path, dat[:, :1], BYTE_MAGIC)
    elif damage == "info_columns":
        path = folder / f"smallnorb-{chunk}-info.mat"
        write_norb_matrix(path, rows[:, 1:4], INT_MAGIC)
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:-100])
    elif damage == "declares_more":
        write_norb_matrix(path, dat, BYTE_MAGIC, declared=(10**9, 2, 96, 96))
    elif damage == "extra_bytes":
        path.write_bytes(path.read_bytes() + b"\0" * 8)
    elif damage == "short_header":
        path.write_bytes(b"\x55\x4c")
    elif damage == "azimuth_odd":
        path = folder / f"smallnorb-{chunk}-info.mat"
        info = rows[:, 1:].copy()
        info[0, 2] = 3
        write_norb_matrix(path, info, INT_MAGIC)
    elif damage == "row_counts":
        path = folder / f"smallnorb-{chunk}-cat.mat"
        write_norb_matrix(path, rows[1:, 0], INT_MAGIC)
    with pytest.raises(ValueError) as err:
        load_smallnorb(folder)
    text = str(err.value)
    assert "\n" not in text and message in text
    assert text.startswith(str(path) if damage != "row_counts" else str(folder))


def test_missing_and_gzipped_files(small):
    folder, _ = small
    name = f"smallnorb-{CHUNKS[1]}-info.mat"
    (folder / name).rename(folder / f"{name}.gz")
    with pytest.raises(FileNotFoundError, match=rf"{name} \(1 of them are there gzipped: gunzip them\)"):
        load_smallnorb(folder)
    with pytest.raises(ValueError, match="needs root=PATH"):
        gd.load("smallnorb")
