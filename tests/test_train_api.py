"""The Python API's entry point ``gwrep.train`` (issue 13, case 11): names checked as the CLI's, callable twice."""
from __future__ import annotations

import pytest

import gwrep
import gwrep.registry as registry
from gwrep.train import TrainConfig
from tiny_models import ENTRY, NAME, blobs


@pytest.fixture(autouse=True)
def tiny_model(monkeypatch):
    monkeypatch.setitem(registry.MODELS, NAME, ENTRY)


def _options(**overrides):
    return {"model": NAME, "steps": 2, "batch_size": 8, "eval_every": 0, "figures": False, **overrides}


@pytest.mark.parametrize("data", ["x/../../../ESCAPED", "../ESCAPED", "/tmp/ESCAPED", "..", ".hidden", "a\\b", "",
                                  "two words"])
def test_a_data_name_that_is_a_path_is_refused(tmp_path, monkeypatch, data):
    work = tmp_path / "a" / "b" / "c"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    with pytest.raises(ValueError, match=r"data must be a name .*got " + repr(data).replace("\\", "\\\\")):
        gwrep.train(_options(data=data), dataset=blobs(20), progress=False)
    assert not any("ESCAPED" in p.name for p in tmp_path.rglob("*"))
    assert not (work / "runs").exists()


def test_names_of_the_shipped_data_sets_and_labels_pass(tmp_path, monkeypatch):
    for name in ("shapes3d-h5", "sprite-clips", "mnist", "my_set.v2", "3dshapes+noise"):
        assert TrainConfig(data=name).data == name
    monkeypatch.chdir(tmp_path)
    run = gwrep.train(_options(data="mine"), dataset=blobs(20), progress=False)
    assert run.dir.resolve().parent == (tmp_path / "runs").resolve() and run.dir.name.endswith(f"-{NAME}-mine")


def test_an_explicit_out_is_the_users_choice(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    run = gwrep.train(_options(data="mine", out="../elsewhere/run"), dataset=blobs(20), progress=False)
    assert run.status == "completed" and (tmp_path / "elsewhere" / "run" / "config.json").is_file()


def test_gwrep_train_is_callable_after_the_subpackage_is_imported(tmp_path):
    import gwrep.train.trainer  # noqa: F401  (binds the subpackage over the attribute gwrep.train)

    first = gwrep.train(_options(data="mine", out=str(tmp_path / "one")), dataset=blobs(20), progress=False)
    second = gwrep.train(_options(data="mine", out=str(tmp_path / "two")), dataset=blobs(20), progress=False)
    assert first.status == second.status == "completed"
    assert gwrep.train.TrainConfig is TrainConfig  # still the package too
