"""GW engine benchmark: gwrep (point-cloud and dense paths) against POT, ott-jax and an older gwrep;
same as `gwrep bench gw` (code: gwrep/bench/gw.py).

    python benchmarks/gw_engine.py --quick      # under a minute
    python benchmarks/gw_engine.py              # n = 256 ... 4096 (POT up to 2048)
    python benchmarks/gw_engine.py --device cuda --sizes 4096 8192 20000 --pot-max-n 2048
                                                # gwrep on the GPU; POT (CPU) only up to 2048
"""
import sys

from gwrep.bench.gw import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
