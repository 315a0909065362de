"""Tests for gwrep/commands/bench.py (`gwrep bench`)."""
import importlib

import pytest

from gwrep.cli import main
from gwrep.commands.bench import BENCHMARKS


def test_every_target_resolves_to_a_callable():
    for target, entry in BENCHMARKS.items():
        module, _, function = entry.partition(":")
        assert callable(getattr(importlib.import_module(module), function)), target


@pytest.mark.parametrize("argv, expected", [(["bench", "--help"], "gw"), (["bench", "gw", "--help"], "--quick")])
def test_help_works(argv, expected, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    assert expected in capsys.readouterr().out


def test_unknown_target_is_an_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "nope"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_every_script_target_exists():
    from gwrep.commands.bench import BENCHMARK_DIR, SCRIPTS

    for target, script in SCRIPTS.items():
        assert (BENCHMARK_DIR / script).is_file(), target


@pytest.mark.parametrize("target", ["data", "train-step", "metrics", "generation"])
def test_script_target_help_runs_the_script(target, capsys):
    assert main(["bench", target, "--help"]) == 0
    assert "usage:" in capsys.readouterr().out


def test_missing_script_names_the_path(tmp_path, monkeypatch, capsys):
    import gwrep.commands.bench as bench

    monkeypatch.setattr(bench, "BENCHMARK_DIR", tmp_path)
    assert main(["bench", "data"]) == 2
    assert "editable" in capsys.readouterr().err
