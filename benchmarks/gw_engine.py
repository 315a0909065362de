"""GW engine benchmark: gwrep (dense and point-cloud paths) against POT; same as `gwrep bench gw`.

    python benchmarks/gw_engine.py --quick      # under a minute
    python benchmarks/gw_engine.py              # n = 256 ... 4096 (POT up to 2048)
    python benchmarks/gw_engine.py --device cuda --sizes 4096 8192 20000 --pot-max-n 2048
                                                # gwrep on the GPU; POT (CPU) only up to 2048
"""
import sys

from gwrep.ot.benchmark import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
