"""The commands' import path of :mod:`gwrep.runs` (run folders, labels, JSON and markdown
output), which lives in the library so that library modules need not import the CLI."""
from __future__ import annotations

from gwrep.runs import (NON_FINITE_TEXT, RUN_SEARCH_DEPTH, expand_run_dirs, json_text, markdown_table,  # noqa: F401
                        mean_std, note_non_finite, open_runs, run_label, run_path, scored_weights,
                        training_holder, write_json)
from gwrep.runs import __all__  # noqa: F401
