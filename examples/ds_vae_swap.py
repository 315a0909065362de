"""Swapping the static and dynamic codes of a Disentangled Sequential VAE.

The DS-VAE (Li & Mandt, ICML 2018; :mod:`gwrep.models.ds_vae`) encodes a clip into one static
code f (what stays: here the sprite's colour) and per-frame dynamic codes z_1..z_T (what
moves). It is trained here with the model API alone (:func:`gwrep.models.build_model` and
``training_step``, no run folder) on 24 procedural ``sprite-clips`` (one large square in six
colours, moving right, left, down or up; 8 frames of 28x28) for 300 steps, then
:func:`gwrep.eval.sequence.save_swap_figure` decodes f of one clip with z of the other: a
separating model keeps A's colour with B's motion. After 300 steps the colours are not yet
right and some leak into z; the full data set needs thousands of steps (docs/sequential.md has
the measured runs).
"""
import numpy as np
import torch

import gwrep.data as gd
from _output import figure_path
from gwrep.eval.sequence import save_swap_figure
from gwrep.models import build_model

path = figure_path("ds_vae_swap", __doc__.splitlines()[0])
data = gd.load("sprite-clips", split="all", image_size=28).factor_data  # factors: shape, colour, size, action, phase
factors = np.array([[0, colour, 2, action, 0] for colour in range(6) for action in range(4)])
clips = torch.as_tensor(data.sample_observations_from_factors(factors, np.random.default_rng(0)))  # (24, 8, 3, 28, 28)

torch.manual_seed(1)  # the initial weights: with so few steps, some seeds are still at the mean clip
model = build_model("ds-vae", image_shape=(3, 28, 28), reconstruction="bernoulli", lr=3e-3)
batches = torch.Generator().manual_seed(0)
for step in range(300):
    losses = model.training_step(clips[torch.randint(len(clips), (12,), generator=batches)])
    if step % 100 == 99:
        print(f"step {step + 1}: " + ", ".join(f"{k} {v:.1f}" for k, v in losses.items()))
a, b = clips[1], clips[4 * 3 + 2]  # red moving left; cyan moving down
save_swap_figure(model, a, b, path)
print(f"wrote {path}")
