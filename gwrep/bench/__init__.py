"""gwrep.bench: benchmarks that ship with the package (``gwrep bench gw``).

Code that times the library against reference implementations and writes JSON; the library
never imports it. One module per benchmark (:mod:`gwrep.bench.gw`, the GW engine against POT,
ott-jax and an older gwrep); the ``*_runner.py`` files are standalone scripts that a benchmark
runs in another Python environment (ott-jax's) or against another source tree, through a
subprocess, exchanging ``.npz`` files.
"""
