"""Shared pytest set-up: the real-data location, the slow-test flag, determinism.

Real data sets are found through one setting, the environment variable ``GWREP_DATA``
(default: ``../shared/data`` beside the repository). Tests that need a file use the
``data_root`` fixture, which skips with the reason when the folder is absent.
Slow tests are marked ``@pytest.mark.slow`` and run only with ``--runslow``.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
DATA_ROOT = Path(os.environ.get("GWREP_DATA", REPO.parent / "shared" / "data"))

torch.set_num_threads(min(2, torch.get_num_threads()))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow test: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real data folder (``GWREP_DATA``); skips the test when it is absent."""
    if not DATA_ROOT.is_dir():
        pytest.skip(f"real data folder {DATA_ROOT} not found (set GWREP_DATA)")
    return DATA_ROOT


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def load_benchmark(name: str) -> ModuleType:
    """Import ``benchmarks/<name>.py`` (a script folder, not a package) as a module."""
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def keep_threads():
    """Restore torch's thread count after a benchmark's main() set its --threads."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)
