"""Tests of gwrep/data/sheet.py: traversal tuples and the contact-sheet PNG."""
import json

import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from gwrep.data import load_factor_data
from gwrep.data.factordata import ArrayFactorData, DummyFactorData
from gwrep.data.sheet import contact_sheet, draw_contact_sheet, save_contact_sheet, traversal_factors


def test_traversal_varies_one_factor_per_row():
    rows = traversal_factors((3, 40, 2), np.array([1, 5, 0]), max_columns=10)
    assert [len(r) for r in rows] == [3, 10, 2]
    for k, tuples in enumerate(rows):
        others = np.delete(tuples, k, axis=1)
        assert (others == np.delete(np.array([1, 5, 0]), k)).all()
        assert tuples[0, k] == 0 and tuples[-1, k] == (3, 40, 2)[k] - 1


def _dummy():
    """Dummy factors (3, 4, 5) named a, b, c; each image is 8x8 of value sum(factors) / 9."""
    data = DummyFactorData((3, 4, 5), ("a", "b", "c"))
    data.observation_shape = (1, 8, 8)
    data.render = lambda f: np.broadcast_to((f.sum(1) / 9.0)[:, None, None, None], (len(f), 1, 8, 8)).astype(np.float32)
    return data


def test_sheet_layout_one_varying_row_per_factor():
    data = _dummy()
    sheet = contact_sheet(data, base=np.array([1, 2, 3]))
    assert sheet.row_labels == ("a", "b", "c") and sheet.columns == 5
    for k, (tuples, images) in enumerate(zip(sheet.factors, sheet.images)):
        assert len(tuples) == data.factor_sizes[k] and (np.delete(tuples, k, 1) == np.delete([1, 2, 3], k)).all()
        np.testing.assert_array_equal(images, data.render(tuples))  # the images are those of the row's tuples
        assert len({img.tobytes() for img in images}) == len(images)  # every image of the row differs
    fig = draw_contact_sheet(sheet, "t")
    try:
        axes = np.array(fig.axes).reshape(3, 5)
        for k in range(3):
            assert axes[k, 0].get_ylabel() == f"{'abc'[k]}\n({data.factor_sizes[k]})"
            shown = [np.asarray(ax.images[0].get_array()) for ax in axes[k] if ax.images]
            assert len(shown) == data.factor_sizes[k] and len({a.tobytes() for a in shown}) == len(shown)
            assert [ax.get_title() for ax in axes[k] if ax.images] == [str(v) for v in sheet.factors[k][:, k]]
    finally:
        plt.close(fig)


@pytest.mark.parametrize("name", ["shapes2d", "shapes3d"])
def test_procedural_sheets_vary_every_row(name):
    """What ``gwrep data show NAME`` draws (seed 0): every factor's row shows more than one image."""
    data = load_factor_data(name, image_size=28)
    sheet = contact_sheet(data, seed=0)
    assert sheet.row_labels == data.factor_names and len(sheet.images) == len(data.factor_sizes)
    for label, images in zip(sheet.row_labels, sheet.images):
        # adjacent columns differ (a square turned by 90 degrees may repeat further along its row)
        assert all(not np.array_equal(a, b) for a, b in zip(images[:-1], images[1:])), label


def test_sheet_png(tmp_path):
    data = _dummy()
    path = save_contact_sheet(data, tmp_path / "sub" / "sheet.png", seed=0)
    with Image.open(path) as img:
        assert img.format == "PNG" and img.size[0] > 300 and img.size[1] > 200
        assert json.loads(img.text["Rows"]) == ["a", "b", "c"]  # one labelled row per factor
    assert save_contact_sheet(data, tmp_path / "noext") == tmp_path / "noext.png"  # the name really written
    assert (tmp_path / "noext.png").is_file()
    with pytest.raises(ValueError, match="is a folder"):
        save_contact_sheet(data, tmp_path)


def test_partial_grid_is_refused(tmp_path):
    with pytest.warns(UserWarning):
        data = ArrayFactorData(np.zeros((2, 4, 4), np.uint8), np.array([[0, 0], [1, 1]]), (2, 2), source="two-rows")
    with pytest.raises(ValueError, match="two-rows holds only some factor tuples"):
        save_contact_sheet(data, tmp_path / "x.png")
