"""The commands' import path of :mod:`gwrep.runs` (run folders, labels, JSON and markdown
output), which lives in the library so that library modules need not import the CLI."""
from __future__ import annotations

from gwrep.runs import *  # noqa: F401,F403 (every public name, so the two cannot drift apart)
from gwrep.runs import RUN_SEARCH_DEPTH, __all__, note_non_finite  # noqa: F401 (the commands use these too)
