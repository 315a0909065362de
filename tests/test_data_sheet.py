"""Tests of gwrep/data/sheet.py: traversal tuples and the contact-sheet PNG."""
import numpy as np
import pytest
from PIL import Image

from gwrep.data.factordata import ArrayFactorData, DummyFactorData
from gwrep.data.sheet import save_contact_sheet, traversal_factors


def test_traversal_varies_one_factor_per_row():
    rows = traversal_factors((3, 40, 2), np.array([1, 5, 0]), max_columns=10)
    assert [len(r) for r in rows] == [3, 10, 2]
    for k, tuples in enumerate(rows):
        others = np.delete(tuples, k, axis=1)
        assert (others == np.delete(np.array([1, 5, 0]), k)).all()
        assert tuples[0, k] == 0 and tuples[-1, k] == (3, 40, 2)[k] - 1


def test_sheet_png(tmp_path):
    data = DummyFactorData((3, 4, 5))
    data.observation_shape = (1, 1, 1)
    data.render = lambda f: np.broadcast_to((f.sum(1) / 9.0)[:, None, None, None], (len(f), 1, 8, 8)).astype(np.float32)
    path = save_contact_sheet(data, tmp_path / "sub" / "sheet.png", seed=0)
    with Image.open(path) as img:
        assert img.format == "PNG" and img.size[0] > 300 and img.size[1] > 200
    assert save_contact_sheet(data, tmp_path / "noext") == tmp_path / "noext.png"  # the name really written
    assert (tmp_path / "noext.png").is_file()
    with pytest.raises(ValueError, match="is a folder"):
        save_contact_sheet(data, tmp_path)


def test_partial_grid_is_refused(tmp_path):
    with pytest.warns(UserWarning):
        data = ArrayFactorData(np.zeros((2, 4, 4), np.uint8), np.array([[0, 0], [1, 1]]), (2, 2), source="two-rows")
    with pytest.raises(ValueError, match="two-rows holds only some factor tuples"):
        save_contact_sheet(data, tmp_path / "x.png")
