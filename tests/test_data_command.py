"""Tests of gwrep/commands/data.py: ``gwrep data list | show | verify``."""
from PIL import Image

from gwrep.cli import main


def test_list(capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("shapes2d", "shapes3d-h5", "omniglot", "folder")) and "gwae" in out


def test_show_writes_png(tmp_path, capsys):
    out = tmp_path / "s2.png"
    assert main(["data", "show", "shapes2d", "--out", str(out), "--option", "image_size=28"]) == 0
    with Image.open(out) as img:
        assert img.size[0] > 500
    assert main(["data", "show", "mnist", "--out", str(out)]) == 2
    assert "no ground-truth factors" in capsys.readouterr().err
    assert main(["data", "show", "shapes2d", "--out", str(out), "--option", "oops"]) == 2


def test_verify(tmp_path, capsys, data_root):
    assert main(["data", "verify", str(data_root / "omniglot")]) == 0
    assert capsys.readouterr().out.count("OK") == 2
    (tmp_path / "images_background.npz").write_bytes(b"x")
    assert main(["data", "verify", str(tmp_path)]) == 1
    assert "MISMATCH" in capsys.readouterr().out
