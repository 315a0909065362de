"""The study's violin plot, on a tiny synthetic table.

``gwrep study locatello2019`` (Locatello et al., ICML 2019) trains every model x hyperparameter
value x seed and writes one tidy row per run (:mod:`gwrep.study.table`: ``study.csv`` and
``study.json``). Here a synthetic table of 108 rows stands in for it: six models, three values
of each one's hyperparameter, three seeds, two data sets, with a DCI score made of a model
effect, a hyperparameter effect and seed noise as large as both, the paper's finding that the
seed matters as much as the model. It is written and read back with the table's own functions,
then :func:`gwrep.study.figures.plot_violins_by_model` draws the paper's Fig. 3 view: one violin
per model over all its runs, one panel per data set.
"""
import tempfile

import numpy as np

from _output import figure_path
from gwrep.study.figures import plot_violins_by_model
from gwrep.study.table import read_records, write_table

path = figure_path("study_violins", __doc__.splitlines()[0])
models = {"beta-vae": ("beta", (1, 8, 16)), "annealed-vae": ("c_max", (5, 25, 50)),
          "factor-vae": ("gamma", (10, 30, 100)), "dip-vae-i": ("lambda_od", (1, 5, 10)),
          "dip-vae-ii": ("lambda_od", (1, 5, 10)), "beta-tcvae": ("beta", (1, 6, 10))}
rng = np.random.default_rng(0)
rows = []
for dataset in ("shapes2d", "color-dsprites"):
    for k, (model, (hparam, values)) in enumerate(models.items()):
        for rank, value in enumerate(values):
            for seed in range(3):
                score = 0.25 + 0.03 * k + 0.04 * rank + rng.normal(scale=0.06)
                rows.append({"dataset": dataset, "model": model, "hparam": hparam, "hparam_value": value,
                             "hparam_rank": rank, "seed": seed, "status": "completed",
                             "dci_disentanglement": float(np.clip(score, 0, 1))})

with tempfile.TemporaryDirectory() as study_dir:
    write_table(rows, study_dir)  # study.csv and study.json, as gwrep study writes them
    table = read_records(study_dir)
print(f"{len(table)} rows, {len(table[0])} columns (scores the runs did not compute are empty)")

violins: dict[str, dict[str, list[float]]] = {}
for row in table:
    violins.setdefault(row["dataset"], {}).setdefault(row["model"], []).append(row["dci_disentanglement"])
for dataset, per_model in violins.items():
    print(dataset + ": median DCI " + ", ".join(f"{m} {np.median(v):.2f}" for m, v in per_model.items()))
plot_violins_by_model(violins, "dci_disentanglement", path)
print(f"wrote {path}")
