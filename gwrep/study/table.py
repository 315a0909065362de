"""The study's tidy table: one row per run, written as ``DIR/study.csv`` and ``DIR/study.json``.

Columns: the identity of the run (data set, model, hyperparameter name, value and rank,
seed, run folder, training status, steps, minutes), then every score (see
:data:`SCORE_COLUMNS`). Missing values are NaN in memory, empty in the CSV and ``null`` in
the JSON. :func:`load_table` reads either file back: a pandas DataFrame when pandas is
installed (``pip install 'gwrep[study]'``), plain records (a list of dicts) otherwise.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from gwrep.config import atomic_write_text, read_json_file

__all__ = ["IDENTITY_COLUMNS", "METRIC_COLUMNS", "UNSUPERVISED_COLUMNS", "DOWNSTREAM_COLUMNS", "SCORE_COLUMNS",
           "COLUMNS", "TABLE_CSV", "TABLE_JSON", "write_table", "read_records", "load_table"]

TABLE_CSV = "study.csv"
TABLE_JSON = "study.json"

#: Who the run is, and how it trained. Text columns; the rest are numbers.
IDENTITY_COLUMNS = ("dataset", "model", "hparam", "hparam_value", "hparam_rank", "seed", "run", "status", "steps",
                    "model_step", "train_minutes", "score_seconds")
_TEXT = {"dataset", "model", "hparam", "run", "status"}
_INT = {"hparam_rank", "seed", "steps", "model_step"}
#: The disentanglement metrics on the mean representation (``gwrep eval``'s summary names).
METRIC_COLUMNS = ("beta_vae_score", "factor_vae_score", "mig", "sap", "dci_disentanglement", "dci_completeness",
                  "dci_informativeness", "modularity", "explicitness")
_UNSUPERVISED = ("gaussian_total_correlation", "gaussian_wasserstein_correlation",
                 "gaussian_wasserstein_correlation_norm", "mutual_info_score")
#: disentanglement_lib's unsupervised scores, on the mean and (``_sampled``) the sampled representation.
UNSUPERVISED_COLUMNS = _UNSUPERVISED + tuple(f"{name}_sampled" for name in _UNSUPERVISED)
_SIZES = (10, 100, 1000, 10000)
#: The downstream task: test accuracy by classifier and training-set size, and sample efficiency.
DOWNSTREAM_COLUMNS = tuple(f"downstream_{clf}_acc_{n}" for clf in ("logreg", "gbt") for n in _SIZES) + (
    "downstream_logreg_sample_efficiency", "downstream_gbt_sample_efficiency")
SCORE_COLUMNS = METRIC_COLUMNS + UNSUPERVISED_COLUMNS + DOWNSTREAM_COLUMNS + ("reconstruction_error", "udr")
COLUMNS = IDENTITY_COLUMNS + SCORE_COLUMNS


def _number(value: Any, integer: bool = False) -> float | int:
    if value is None or value == "":
        return math.nan
    number = float(value)
    return int(number) if integer and math.isfinite(number) else number


def _normalise(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row with every column of :data:`COLUMNS`, numbers as float/int and missing ones NaN."""
    out: dict[str, Any] = {}
    for column in COLUMNS:
        value = row.get(column)
        out[column] = ("" if value is None else str(value)) if column in _TEXT else _number(value, column in _INT)
    return out


def write_table(rows: Iterable[Mapping[str, Any]], out_dir: str | os.PathLike) -> tuple[Path, Path]:
    """Write the rows as ``out_dir/study.csv`` and ``out_dir/study.json`` (atomically); returns both paths."""
    rows = [_normalise(r) for r in rows]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()})
    csv_path, json_path = out_dir / TABLE_CSV, out_dir / TABLE_JSON
    atomic_write_text(csv_path, text.getvalue())
    plain = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
             for row in rows]
    atomic_write_text(json_path, json.dumps({"columns": list(COLUMNS), "rows": plain}, indent=1,
                                            allow_nan=False) + "\n")
    return csv_path, json_path


def read_records(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The rows of a study table (``study.csv``, ``study.json``, or the study folder holding them)."""
    path = Path(path)
    if path.is_dir():
        path = path / TABLE_JSON if (path / TABLE_JSON).is_file() else path / TABLE_CSV
    if not path.is_file():
        raise FileNotFoundError(f"no study table at {path} (gwrep study writes DIR/{TABLE_CSV} and DIR/{TABLE_JSON})")
    if path.suffix.lower() == ".json":
        document = read_json_file(path)
        rows = document.get("rows") if isinstance(document, Mapping) else None
        if not isinstance(rows, list):
            raise ValueError(f"{path} is not a study table: expected a JSON object with a 'rows' list")
    else:
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
    return [_normalise(r) for r in rows]


def load_table(path: str | os.PathLike, as_frame: bool | None = None) -> Any:
    """The study table at ``path`` as a pandas DataFrame (when pandas is installed, or ``as_frame=True``),
    else as a list of dicts. ``as_frame=False`` always gives the records."""
    records = read_records(path)
    if as_frame is False:
        return records
    try:
        import pandas as pd
    except ImportError:
        if as_frame:
            raise ImportError("load_table(as_frame=True) needs pandas: pip install 'gwrep[study]'") from None
        return records
    return pd.DataFrame.from_records(records, columns=list(COLUMNS))


def columns_of(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """The table as column lists (every column of :data:`COLUMNS`)."""
    normal = [_normalise(r) for r in rows]
    return {c: [r[c] for r in normal] for c in COLUMNS}
