"""Tests of gwrep/commands/data.py: ``gwrep data list | show | verify``."""
import json

import numpy as np
from PIL import Image

from gwrep.cli import main
from gwrep.data.dsprites import DSPRITES_FACTORS
from test_data_files import overwrite_middle


def test_list(capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("shapes2d", "shapes3d-h5", "omniglot", "folder")) and "gwae" in out


def test_show_writes_png(tmp_path, capsys):
    out = tmp_path / "s2.png"
    assert main(["data", "show", "shapes2d", "--out", str(out), "--option", "image_size=28"]) == 0
    with Image.open(out) as img:
        assert img.size[0] > 500
        assert json.loads(img.text["Rows"]) == ["shape", "scale", "orientation", "posX", "posY"]  # a row per factor
    assert main(["data", "show", "mnist", "--out", str(out)]) == 2
    assert "no ground-truth factors" in capsys.readouterr().err
    assert main(["data", "show", "shapes2d", "--out", str(out), "--option", "oops"]) == 2


def test_verify(tmp_path, capsys, data_root):
    assert main(["data", "verify", str(data_root / "omniglot")]) == 0
    assert capsys.readouterr().out.count("OK") == 2
    (tmp_path / "images_background.npz").write_bytes(b"x")
    assert main(["data", "verify", str(tmp_path)]) == 1
    assert "MISMATCH" in capsys.readouterr().out
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"not the labels")  # ungzipped MNIST: checked by md5
    assert main(["data", "verify", str(tmp_path / "t10k-labels-idx1-ubyte")]) == 1
    assert "MISMATCH" in capsys.readouterr().out


def test_show_corrupt_npz_is_one_line(tmp_path, capsys):
    """A dSprites subset with bytes overwritten mid-file: exit 2 and the file named, no zlib traceback."""
    rng = np.random.default_rng(0)
    sizes = (3, 6, 40, 32, 32)
    classes = np.stack([rng.integers(0, s, 300) for s in sizes], 1)
    np.savez_compressed(tmp_path / "dsprites_subset.npz", imgs=rng.integers(0, 2, (300, 64, 64)).astype(np.uint8),
                        latents_classes=classes)
    (tmp_path / "dsprites_subset.metadata.json").write_text(
        json.dumps({"latents_names": list(DSPRITES_FACTORS), "latents_sizes": list(sizes)}))
    overwrite_middle(tmp_path / "dsprites_subset.npz", 5000)
    code = main(["data", "show", "dsprites", "--root", str(tmp_path), "--option", "variant=subset",
                 "--out", str(tmp_path / "s.png")])
    err = capsys.readouterr().err
    assert code == 2 and "dsprites_subset.npz: corrupt or truncated .npz" in err and "Traceback" not in err
