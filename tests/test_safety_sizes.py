"""Issue 25, part A: no small input makes gwrep allocate more than its declared size can justify.

YAML alias bombs and duplicated keys, files declaring more than they store (3dshapes.h5, npz
members), images with too many pixels, a 0-byte image read by data-loader workers, and models
too large for the memory: each is one line naming the file or the size, before the memory goes.
"""
from __future__ import annotations

import json
import re
import resource
import struct
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

import gwrep.registry as registry
import gwrep.train.trainer as trainer_module
from gwrep.cli import main
from gwrep.config import MAX_ALIAS_EXPANSION, load_yaml, shown
from gwrep.data.files import npz_headers, read_npz
from gwrep.data.images import MAX_IMAGE_PIXELS, decode_image
from gwrep.experiments import load_experiment
from gwrep.integrity import available_memory, memory_error_text
from gwrep.models.base import build_model
from gwrep.train import TrainConfig, train
from gwrep.train.config import read_config_file
from gwrep.train.trainer import ModelTooLargeError, check_model_fits, worker_error
from test_safety_paths import EXPERIMENT, one_line_error
from test_train_trainer import config, fit
from tiny_models import ENTRY, NAME, TinyVAE


@pytest.fixture(autouse=True)
def tiny_model(monkeypatch):
    monkeypatch.setitem(registry.MODELS, NAME, ENTRY)


# ----------------------------------------------------------------------------------------- YAML
def laughs(levels: int = 9, kind: str = "list") -> str:
    """A "billion laughs" alias bomb: ``levels`` anchors, each nine aliases of the one before."""
    lines = ['l0: &l0 "lol"']
    for k in range(1, levels):
        refs = ", ".join([f"*l{k - 1}"] * 9)
        lines.append(f"l{k}: &l{k} [{refs}]" if kind == "list" else
                     f"l{k}: &l{k} {{{', '.join(f'k{j}: *l{k - 1}' for j in range(9))}}}")
    return "\n".join(lines)


def merge_bomb(levels: int = 12) -> str:
    """Merge keys that copy the mapping before them three times at each level (3^12 pairs at the top)."""
    lines = ["m0: &m0 {a: 1, b: 2}"]
    for k in range(1, levels):
        lines.append(f"m{k}: &m{k} {{<<: [*m{k - 1}, *m{k - 1}, *m{k - 1}], x{k}: {k}}}")
    return "\n".join(lines)


BOMBS = {
    "list": f"{laughs()}\nsteps: 5\nmodel_options: {{prior_options: *l8}}\n",
    "mapping": f"{laughs(kind='mapping')}\nsteps: 5\ndata_options: {{x: *l8}}\n",
    "merge": f"{merge_bomb()}\nsteps: 5\n",
    "scalar-heavy": "a: &a [" + ", ".join(['"' + "x" * 50 + '"'] * 200) + "]\n"
                    "b: &b [" + ", ".join(["*a"] * 60) + "]\nc: [" + ", ".join(["*b"] * 60) + "]\n",
}


@pytest.mark.parametrize("kind", list(BOMBS))
def test_alias_bombs_are_refused_before_they_expand(tmp_path, capsys, kind):
    """A few hundred bytes of nested aliases: refused with one line that formats no value, before the
    expansion is built (the peak memory stays a few MB)."""
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMBS[kind])
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="aliases expand") as caught:
            read_config_file(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(caught.value)
    assert peak < 20e6 and len(message) < 300 and "lol" not in message and "xxxx" not in message
    assert message.startswith(str(path)) and f"{MAX_ALIAS_EXPANSION:,}" in message
    assert main(["train", "--config", str(path), "--out", str(tmp_path / "run")]) == 2
    assert "aliases expand" in one_line_error(capsys)
    assert not (tmp_path / "run").exists()


def test_recursive_alias_is_refused(tmp_path):
    for text in ("x: &x [1, *x]\n", "a: &a {b: {c: *a}}\n"):
        (tmp_path / "r.yaml").write_text(text)
        with pytest.raises(ValueError, match="line 1: a YAML alias refers to a value that contains it"):
            read_config_file(tmp_path / "r.yaml")


def test_alias_bombs_in_experiment_and_sweep_files(tmp_path, capsys):
    import yaml

    text = yaml.safe_dump(EXPERIMENT).replace("metrics:\n  - mig", "metrics:\n  - mig\n  options: *l8")
    (tmp_path / "exp.yaml").write_text(f"{laughs()}\n{text}")
    with pytest.raises(ValueError, match="aliases expand"):
        load_experiment(tmp_path / "exp.yaml")
    (tmp_path / "sweep.yaml").write_text(f"{laughs()}\nbase: {{model_options: {{x: *l8}}}}\nout: {tmp_path / 's'}\n")
    assert main(["sweep", "--config", str(tmp_path / "sweep.yaml"), "--dry-run"]) == 2
    assert "aliases expand" in one_line_error(capsys)


def test_honest_anchors_and_merge_keys_still_load(tmp_path):
    """Aliases that add a few values, and merge keys whose own keys override the merged ones, load as YAML says."""
    text = ("common: &common {batch_size: 16, model_options: {latent_dim: 4}}\n"
            "runs: [*common, *common]\n"
            "tuned: {<<: *common, batch_size: 32}\n"
            f"many: [{', '.join(['*common'] * 100)}]\n")
    (tmp_path / "ok.yaml").write_text(text)
    data = read_config_file(tmp_path / "ok.yaml")
    assert data["tuned"] == {"batch_size": 32, "model_options": {"latent_dim": 4}}
    assert data["runs"] == [data["common"]] * 2 and len(data["many"]) == 100


@pytest.mark.parametrize("text, line, first", [
    ("steps: 5\nlr: 1\nsteps: 6\n", 3, 1),
    ("model_options:\n  latent_dim: 4\n  latent_dim: 8\n", 3, 2),
    ("a: {x: 1, y: 2, x: 3}\n", 1, 1),
    ("'steps': 5\nsteps: 6\n", 2, 1),
])
def test_duplicated_yaml_keys_are_refused(tmp_path, capsys, text, line, first):
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=f"line {line}: key .* appears twice in one mapping \\(first on line {first}\\)"):
        read_config_file(path)
    assert main(["train", "--config", str(path), "--out", str(tmp_path / "run")]) == 2
    one_line_error(capsys)


def test_distinct_keys_that_look_alike_are_not_duplicates():
    assert load_yaml("1: a\n'1': b\ntrue: c\n", "x.yaml") == {1: "a", "1": "b", True: "c"}


def test_duplicated_keys_in_json_and_experiment_files(tmp_path):
    (tmp_path / "dup.json").write_text('{"steps": 5, "model_options": {"lr": 1, "lr": 2}}')
    with pytest.raises(ValueError, match="key 'lr' appears twice in one JSON object"):
        read_config_file(tmp_path / "dup.json")
    import yaml

    text = yaml.safe_dump(EXPERIMENT) + "task: ood\n"
    (tmp_path / "exp.yaml").write_text(text)
    with pytest.raises(ValueError, match="key 'task' appears twice"):
        load_experiment(tmp_path / "exp.yaml")


def test_error_messages_show_values_cut_short():
    """An option holding thousands of values (from a file) is named in a short message."""
    with pytest.raises(ValueError) as caught:
        TrainConfig(steps=list(range(5000)))
    assert len(str(caught.value)) < 200 and "..." in str(caught.value)
    assert shown({"a": [[[[1]]]], "b": "y" * 500}) .count("y") <= 80


# ------------------------------------------------------------------------------ declared sizes
def test_h5_declaring_more_than_it_stores_is_refused(tmp_path, capsys):
    """A 2 kB 3dshapes.h5 declaring 2e8 images (and 9 GiB of labels) is refused before anything is read."""
    import h5py

    from gwrep.data.shapes3d_h5 import load_shapes3d_h5

    path = tmp_path / "3dshapes.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("images", shape=(200_000_000, 64, 64, 3), dtype=np.uint8, chunks=(1, 64, 64, 3))
        f.create_dataset("labels", shape=(200_000_000, 6), dtype=np.float64, chunks=(1000, 6))
    assert path.stat().st_size < 5000
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"array 'images' declares shape \(200000000, 64, 64, 3\) uint8 "
                                             r"\(2.2 TiB\) but the file stores 0 B"):
            load_shapes3d_h5(path)
        assert tracemalloc.get_traced_memory()[1] < 20e6
    finally:
        tracemalloc.stop()
    assert main(["data", "show", "shapes3d-h5", "--data-root", str(path), "--out", str(tmp_path / "s.png")]) == 2
    assert "declares shape" in one_line_error(capsys)


def test_h5_with_forged_labels_only_and_a_compressed_honest_file(tmp_path):
    import h5py

    from gwrep.data.shapes3d import SHAPES3D_VALUES
    from gwrep.data.shapes3d_h5 import load_shapes3d_h5

    n = 40
    labels = np.stack([np.resize(values, n) for values in SHAPES3D_VALUES.values()], 1)
    with h5py.File(tmp_path / "forged.h5", "w") as f:
        f["images"] = np.zeros((n, 64, 64, 3), np.uint8)
        f.create_dataset("labels", shape=(200_000_000, 6), dtype=np.float64, chunks=(1000, 6))
    with pytest.raises(ValueError, match=r"array 'labels' declares shape \(200000000, 6\) float64 \(8.9 GiB\)"):
        load_shapes3d_h5(tmp_path / "forged.h5")
    with h5py.File(tmp_path / "zeros.h5", "w") as f:  # all-zero images gzip to a tiny fraction: still honest
        f.create_dataset("images", data=np.zeros((n, 64, 64, 3), np.uint8), compression="gzip", chunks=(1, 64, 64, 3))
        f.create_dataset("labels", data=labels, compression="gzip")
    with pytest.warns(UserWarning, match="40 of 480000 factor tuples"):
        data = load_shapes3d_h5(tmp_path / "zeros.h5")
    assert data.num_rows == n and (data.row_observations(np.arange(3)) == 0).all()


def npz_with_forged_header(path: Path, shape: tuple[int, ...], compress: bool = False) -> None:
    """An .npz whose ``imgs`` member declares ``shape`` uint8 but holds 100 bytes of data."""
    header = {"descr": "|u1", "fortran_order": False, "shape": shape}
    text = repr(header).encode("latin1")
    text += b" " * (63 - (len(text) + 10) % 64) + b"\n"
    member = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + bytes(100)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as zf:
        zf.writestr("imgs.npy", member)
        zf.writestr("latents_classes.npy", member)


@pytest.mark.parametrize("compress", [False, True])
def test_npz_member_declaring_more_than_it_holds_is_refused(tmp_path, compress):
    path = tmp_path / "dsprites_subset.npz"
    npz_with_forged_header(path, (200_000_000, 64, 64), compress)
    for read in (lambda: npz_headers(path), lambda: read_npz(path, ["imgs"])):
        with pytest.raises(ValueError, match=r"array 'imgs' declares shape \(200000000, 64, 64\) uint8 \(762.9 GiB\)"):
            read()
    npz_with_forged_header(path, (10, 10))  # 100 bytes declared, 100 held: fine
    assert npz_headers(path)["imgs"] == ((10, 10), np.dtype(np.uint8))


# --------------------------------------------------------------------------------------- images
def png_header(path: Path, width: int, height: int) -> None:
    """A PNG that declares ``width`` x ``height`` and holds one tiny data chunk (a few hundred bytes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(64)))
                     + chunk(b"IEND", b""))


@pytest.mark.parametrize("width, height", [(30000, 30000), (10000, 9000), (MAX_IMAGE_PIXELS + 1, 1)])
def test_images_with_too_many_pixels_name_the_file(tmp_path, width, height):
    """Pillow's own limit (30000x30000) and ours (over 50 MP): one ValueError naming the file, from the header."""
    path = tmp_path / "huge.png"
    png_header(path, width, height)
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}: .*pixels") as caught:
        decode_image(path)
    assert "\n" not in str(caught.value)


def folder_of(tmp_path: Path, bad: str, n: int = 12) -> Path:
    """A folder of ``n`` image files, all ``bad``: "empty" (0 bytes) or "huge" (a 30000x30000 header)."""
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(n):
        path = folder / f"{i:03d}.png"
        if bad == "empty":
            path.write_bytes(b"")
        else:
            png_header(path, 30000, 30000)
    return folder


@pytest.mark.parametrize("bad, workers", [("empty", 2), ("huge", 2), ("empty", 0)])
def test_a_bad_image_is_one_line_through_the_workers(tmp_path, capsys, bad, workers):
    """A 0-byte or 30000x30000 image read by data-loader workers: one line naming the file, exit 2, and
    run.json records that line (not torch's wrapped worker traceback)."""
    folder = folder_of(tmp_path, bad)
    run_dir = tmp_path / "run"
    code = main(["train", "--model", NAME, "--data", "folder", "--data-root", str(folder), "--image-size", "28",
                 "--batch-size", "4", "--steps", "2", "--eval-every", "0", "--num-workers", str(workers),
                 "--no-figures", "--no-progress", "--out", str(run_dir)])
    err = one_line_error(capsys)
    assert code == 2 and str(folder) in err and ".png" in err
    assert ("cannot decode image" if bad == "empty" else "pixels") in err and "worker" not in err
    summary = json.loads((run_dir / "run.json").read_text())
    assert summary["status"] == "failed" and "\n" not in summary["message"] and str(folder) in summary["message"]
    assert "Traceback" not in summary["message"]


def test_worker_error_unwraps_torch_messages():
    wrapped = ValueError("Caught ValueError in DataLoader worker process 1.\nOriginal Traceback (most recent call "
                         "last):\n  File \"x.py\", line 3, in f\n    raise ValueError(m)\nValueError: /d/7.png: "
                         "cannot decode image (UnidentifiedImageError: cannot identify image file '/d/7.png')\n")
    assert str(worker_error(wrapped)) == ("/d/7.png: cannot decode image (UnidentifiedImageError: cannot identify "
                                          "image file '/d/7.png')")
    assert type(worker_error(wrapped)) is ValueError and worker_error(ValueError("plain")) is None
    key = KeyError("Caught KeyError in DataLoader worker process 0.\nOriginal Traceback (most recent call last):\n"
                   "  File \"x.py\", line 1\nKeyError: 'label'\n")
    assert worker_error(key).args == ("label",)


# --------------------------------------------------------------------------------------- memory
def test_model_size_on_the_meta_device_is_the_real_size():
    """check_model_fits sizes the model without allocating it: the meta build has the real model's bytes."""
    real = build_model(NAME, image_shape=(1, 28, 28), latent_dim=7)
    real_bytes = sum(t.numel() * t.element_size() for t in (*real.parameters(), *real.buffers()))
    assert trainer_module._model_bytes(trainer_module._meta_model(NAME, {"image_shape": (1, 28, 28),
                                                                          "latent_dim": 7})) == real_bytes
    assert sum(p.numel() for p in real.parameters()) == 784 * 14 + 14 + 7 * 784 + 784  # two linear layers


def test_a_model_too_large_for_the_memory_is_refused_before_allocation(tmp_path, monkeypatch):
    from gwrep.config import format_bytes

    monkeypatch.setattr(trainer_module, "available_memory", lambda device: 1_000_000)
    options = {"image_shape": (1, 28, 28), "latent_dim": 100}
    real = build_model(NAME, **options)
    count = sum(p.numel() for p in real.parameters())
    size = sum(t.numel() * t.element_size() for t in (*real.parameters(), *real.buffers()))
    assert 5 * size > 1_000_000  # weights and four copies (gradients, two moments, the checkpoint) do not fit
    with pytest.raises(ModelTooLargeError, match=re.escape(
            f"({count:,} parameters, {format_bytes(size)}, latent_dim 100) needs about {format_bytes(5 * size)} to "
            "train") + ".* more than the 976.6 KiB free on cpu"):
        check_model_fits(NAME, options, torch.device("cpu"))
    with pytest.raises(ModelTooLargeError):
        fit(config(tmp_path, "run", model_options={"latent_dim": 100}))
    assert not (tmp_path / "run").exists()
    check_model_fits(NAME, {**options, "latent_dim": 2}, torch.device("cpu"))  # about 0.1 MB to train: fits


def test_latent_dim_of_a_million_is_one_line_before_training(tmp_path, capsys, monkeypatch):
    """gwrep train --latent-dim 1000000 (GWAE-FNP: a billion parameters) on a machine with 8 GiB free: one line
    naming the sizes, exit 2, no run folder, and no gigabytes allocated to find out (the peak resident size of
    this process grows by less than 1 GB)."""
    monkeypatch.setattr(trainer_module, "available_memory", lambda device: 8 << 30)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    code = main(["train", "--latent-dim", "1000000", "--data", "shapes2d", "--image-size", "28", "--steps", "2",
                 "--out", str(tmp_path / "run"), "--no-progress"])
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    err = one_line_error(capsys)
    assert code == 2 and "latent_dim 1000000" in err and "more than the 8.0 GiB free" in err
    assert "1,0" in err.split("parameters")[0]  # a billion and some
    assert grown < 1 << 20 and not (tmp_path / "run").exists()


def test_out_of_memory_at_the_first_checkpoint_is_recorded(tmp_path, capsys, monkeypatch):
    """An allocation failing in the first checkpoint (what --latent-dim 1000000 met): run.json records the
    failure and the size, and the command says it in one line (exit 1)."""
    def no_memory(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not enough memory: you "
                           "tried to allocate 4000000000 bytes.")

    monkeypatch.setattr(torch, "save", no_memory)
    run_dir = tmp_path / "run"
    code = main(["train", "--model", NAME, "--data", "shapes2d", "--image-size", "28", "--steps", "2",
                 "--batch-size", "8", "--eval-every", "0", "--no-figures", "--no-progress", "--out", str(run_dir)])
    err = one_line_error(capsys)
    assert code == 1 and "an allocation of 4000000000 bytes (3.7 GiB) failed at step 0" in err
    summary = json.loads((run_dir / "run.json").read_text())
    assert summary["status"] == "failed" and "4000000000 bytes" in summary["message"]
    assert "parameters" in summary["message"] and "\n" not in summary["message"]


def test_memory_error_during_training_is_recorded(tmp_path, monkeypatch):
    original = TinyVAE.training_step

    def step(self, x):
        if int(self.step) == 3:
            raise MemoryError()
        return original(self, x)

    monkeypatch.setattr(TinyVAE, "training_step", step)
    with pytest.raises(MemoryError, match=r"^out of memory at step 3 \(model tiny-vae: [0-9,]+ parameters") as caught:
        fit(config(tmp_path, "run", checkpoint_every=2))
    summary = json.loads((tmp_path / "run" / "run.json").read_text())
    assert summary["status"] == "failed" and summary["message"] == str(caught.value)
    assert str(tmp_path / "run" / "checkpoints" / "last.pt") in summary["message"]


def test_memory_error_text():
    numpy_error = MemoryError("Unable to allocate 8.94 GiB for an array with shape (200000000, 6) and data type "
                              "float64")
    assert memory_error_text(numpy_error) == f"out of memory ({numpy_error})"
    assert memory_error_text(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79 GiB total)")) \
        == "out of memory: an allocation of 2.00 GiB failed"
    assert memory_error_text(MemoryError()) == "out of memory"
    assert memory_error_text(RuntimeError("shape mismatch")) is None and memory_error_text(OSError(28, "x")) is None


def test_available_memory_is_what_linux_reports():
    import os

    free = available_memory("cpu")
    if not Path("/proc/meminfo").is_file():
        assert free is None
        return
    assert 0 < free <= os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert available_memory("meta") is None


@pytest.mark.parametrize("name", sorted(set(registry.MODELS) - {NAME}))
def test_every_registered_model_is_sized_on_the_meta_device(name):
    """Every model builds on the meta device (the size check runs before each training run), to the bytes of
    the model built for real."""
    options = {"image_shape": (3, 64, 64)}
    torch.manual_seed(0)
    real = build_model(name, **options)
    real_bytes = sum(t.numel() * t.element_size() for t in (*real.parameters(), *real.buffers()))
    assert trainer_module._model_bytes(trainer_module._meta_model(name, options)) == real_bytes > 0
