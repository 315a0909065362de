"""Latent traversals of a GWAE on procedural 3D Shapes.

:func:`gwrep.train` fits GWAE with the factorized neural prior (GWAE-FNP, Nakagawa et al.
2023) on ``shapes3d``, rendered on the fly (no files), at 28x28 for a few dozen steps (learning rate 1e-3, ten times the authors', for so few steps); then
:func:`gwrep.eval.figures.save_traversals` decodes one image's code with each latent
dimension swept over its prior's 5-95 % range (rows = dimensions). A few dozen steps learn
only the colours; ``gwrep train`` with its defaults (500 steps) or longer runs separate more
(docs/results.md, section 1).
"""
import tempfile

import gwrep
import gwrep.data as gd
from _output import figure_path
from gwrep.eval.figures import save_traversals

path = figure_path("gwae_traversals", __doc__.splitlines()[0])
with tempfile.TemporaryDirectory() as runs:
    run = gwrep.train({"model": "gwae-fnp", "model_options": {"latent_dim": 6, "lr": 1e-3}, "data": "shapes3d",
                       "data_options": {"image_size": 28}, "steps": 60, "batch_size": 32, "seed": 0,
                       "out": f"{runs}/gwae", "figures": False, "eval_every": 1000, "log_every": 1000})
    model = gwrep.load(f"{runs}/gwae")
test = gd.load("shapes3d", split="test", image_size=28)
save_traversals(model, test[0][0][None], path, n_values=7, step=60)
print(f"wrote {path}")
