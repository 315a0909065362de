"""The examples run (issue 26): each ``examples/*.py`` runs in a subprocess on one thread with a
temporary ``--out`` folder and draws its figure there, a real picture (not blank, not tiny),
and writes nothing into the repository."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.py") if not p.name.startswith("_"))


def test_there_are_six_to_ten_examples():
    assert 6 <= len(EXAMPLES) <= 10, [p.name for p in EXAMPLES]


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_draws_its_figure(script, tmp_path):
    out, cwd = tmp_path / "out", tmp_path / "cwd"
    cwd.mkdir()
    before = sorted(p.name for p in (ROOT / "examples").iterdir())
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    env.pop("GWREP_EXAMPLES_OUT", None)
    proc = subprocess.run([sys.executable, str(script), "--out", str(out)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()) == [f"{script.stem}.png"]
    with Image.open(out / f"{script.stem}.png") as image:
        pixels = np.asarray(image.convert("L"), dtype=float)
    assert min(pixels.shape) >= 300, pixels.shape
    assert pixels.std() > 10 and len(np.unique(pixels)) > 50  # drawn, not a blank canvas
    assert f"wrote {out / script.stem}.png" in proc.stdout
    assert list(cwd.iterdir()) == []  # nothing written where it ran
    after = sorted(p.name for p in (ROOT / "examples").iterdir() if p.name != "__pycache__")
    assert after == [n for n in before if n != "__pycache__"]


def _output_module():
    spec = importlib.util.spec_from_file_location("_output", ROOT / "examples" / "_output.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_figure_path_takes_out_then_the_environment_then_a_temporary_folder(tmp_path, monkeypatch):
    output = _output_module()
    monkeypatch.setattr(sys, "argv", ["x.py", "--out", str(tmp_path / "a")])
    assert output.figure_path("fig", "d") == tmp_path / "a" / "fig.png" and (tmp_path / "a").is_dir()
    monkeypatch.setenv("GWREP_EXAMPLES_OUT", str(tmp_path / "b"))
    monkeypatch.setattr(sys, "argv", ["x.py"])
    assert output.figure_path("fig", "d") == tmp_path / "b" / "fig.png"
    monkeypatch.delenv("GWREP_EXAMPLES_OUT")
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)
    path = output.figure_path("fig", "d")
    assert path.parent.parent == tmp_path / "tmp" and path.name == "fig.png"
