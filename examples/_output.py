"""Where an example writes its figure: ``--out DIR``, else ``$GWREP_EXAMPLES_OUT``, else a new
temporary folder (printed), so that running an example never writes into the repository."""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path


def figure_path(name: str, description: str) -> Path:
    """Parse the example's command line and return ``OUT/<name>.png`` (the folder is created)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", default=os.environ.get("GWREP_EXAMPLES_OUT"),
                        help="folder for the figure (default: $GWREP_EXAMPLES_OUT, else a new temporary folder)")
    args = parser.parse_args()
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="gwrep-examples-"))
    out.mkdir(parents=True, exist_ok=True)
    return out / f"{name}.png"
