"""benchmarks/ood_diagnosis.py on the real MNIST and Omniglot files: the brightness check runs and says
what docs/results.md reports (the authors' protocol is separable by brightness alone, the clean one is not)."""
from __future__ import annotations

import json

import pytest

from conftest import DATA_ROOT, load_benchmark

pytestmark = pytest.mark.usefixtures("keep_threads")


def test_brightness_separates_the_authors_protocol_but_not_the_clean_one(tmp_path, data_root):
    if not ((data_root / "mnist").is_dir() and (data_root / "omniglot").is_dir()):
        pytest.skip(f"MNIST and Omniglot not found under {data_root}")
    bench = load_benchmark("ood_diagnosis")
    out = tmp_path / "diag.json"
    assert bench.main(["--data-root", str(DATA_ROOT), "--brightness", "--num", "200", "--out", str(out)]) == 0
    rows = {r["protocol"]: r for r in json.loads(out.read_text())["brightness"]}
    assert rows["gwae"]["auroc"] > 0.99 and rows["gwae"]["mean_pixel_omniglot"] > 0.8  # white background
    assert 0.05 < rows["clean"]["auroc"] < 0.5  # inverted Omniglot has less ink than MNIST, not more
    with pytest.raises(SystemExit):
        bench.main([])  # neither --brightness nor --critic
