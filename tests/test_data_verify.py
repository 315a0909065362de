"""Tests of gwrep/data/verify.py and ``gwrep data verify`` on SmallNORB, Cars3D and MPI3D files (no published sums)."""
import numpy as np

from data_writers import CHUNKS, write_cars, write_mpi3d, write_smallnorb
from gwrep.cli import main
from gwrep.data.verify import check_format, verify


def _folder(tmp_path):
    rows = np.array([[0, 4, 0, 0, 0], [1, 6, 2, 5, 3]])
    write_smallnorb(tmp_path / "small_norb", {CHUNKS[0]: rows, CHUNKS[1]: rows}, side=8)
    write_cars(tmp_path / "cars", 2)
    write_mpi3d(tmp_path / "mpi3d_toy.npz", (1, 1, 1, 1, 1, 2, 2))
    (tmp_path / "notes.txt").write_text("not data")
    return tmp_path


def test_statuses(tmp_path):
    folder = _folder(tmp_path)
    status = {path.name: (s, problem) for path, s, problem in verify(folder)}
    assert {s for name, (s, _) in status.items() if name != "notes.txt"} == {"valid"} and len(status) == 10
    assert status["notes.txt"] == ("unknown", "")
    assert check_format(folder / "notes.txt") is None
    dat = folder / "small_norb" / f"smallnorb-{CHUNKS[1]}-dat.mat"
    dat.write_bytes(dat.read_bytes()[:-1])
    (folder / "cars" / "car_001_mesh.mat").write_bytes(b"x" * 200)
    status = {path.name: (s, problem) for path, s, problem in verify(folder)}
    assert status[dat.name][0] == "BAD" and status[dat.name][1].startswith("truncated: the header declares")
    assert status["car_001_mesh.mat"] == ("BAD", "not a MATLAB v5 .mat file (no endian indicator in the header)")
    assert status["mpi3d_toy.npz"] == ("valid", "")


def test_command_exit_code_and_lines(tmp_path, capsys):
    folder = _folder(tmp_path)
    assert main(["data", "verify", str(folder)]) == 0
    out = capsys.readouterr().out
    assert out.count("valid") == 9 and "unknown  1 other file(s)" in out
    path = folder / "mpi3d_toy.npz"
    path.write_bytes(path.read_bytes()[:1000])
    assert main(["data", "verify", str(path)]) == 1
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"BAD      {path}: not a readable .npz file") and "\n" not in line
