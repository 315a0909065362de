"""Sphinx configuration of gwrep's site: the user guide (markdown, through myst-parser), the
examples gallery (run at build time by ``_ext/gallery.py``) and the API reference (autodoc +
autosummary, docstrings parsed by napoleon).

Why Sphinx with napoleon: the docstrings mix NumPy style (``gwrep.ot``: Parameters/Returns
with underlines, math blocks, References) and Google style (``Args:``, ``Attributes:`` in the
models, configs and metrics) with plain prose; napoleon reads both in one pass, where numpydoc
reads only the first. Sphinx ships autodoc, autosummary and napoleon; myst-parser lets
``docs/design.md`` and ``docs/results.md`` stay markdown at their paths. Everything is built
offline: no intersphinx, no theme or asset fetched at build time.

Build: ``python -m sphinx -W -b html docs docs/_build/html`` (``pip install -e ".[docs]"``).
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import gwrep

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
# autosummary writes a page per listed name into api/generated/ and never removes one: start empty,
# so a name taken off a package page does not leave a stale page behind.
shutil.rmtree(DOCS / "api" / "generated", ignore_errors=True)

project = "gwrep"
author = "the gwrep developers"
copyright = "gwrep developers"
release = version = gwrep.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "myst_parser",
    "api_modules",
    "gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "_templates", "_ext", "**/.ipynb_checkpoints"]

# Markdown: "#section" links of docs/design.md resolve to its headings.
myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath"]

# API reference.
autosummary_generate = True
autosummary_imported_members = False
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_inherit_docstrings = False  # torch.nn.Module's forward/train/... docstrings are not ours
napoleon_google_docstring = True
napoleon_numpy_docstring = True
napoleon_use_ivar = True  # "Attributes:" as fields, so a dataclass field is not described twice
napoleon_use_rtype = False

# HTML: the theme Sphinx ships; the site works from the file system.
html_theme = "alabaster"
html_title = f"gwrep {release}"
html_static_path: list[str] = []
html_theme_options = {
    "description": "Optimal-transport representation learning around the Gromov-Wasserstein Autoencoder",
    "fixed_sidebar": True,
    "page_width": "1100px",
    "sidebar_width": "230px",
}
html_sidebars = {"**": ["about.html", "navigation.html", "relations.html", "searchbox.html"]}

# The References sections number their entries as POT's bibliography does ([12] Peyre et al. 2016)
# and the prose cites them as plain "[12]"; docutils would want the "[12]_" markup to count them as
# cited. Only that check is off: every other reST problem in a docstring fails the build.
suppress_warnings = ["ref.footnote"]


def _drop_type_docstrings(app, what, name, obj, options, lines) -> None:
    """A module constant without a ``#:`` comment would show its type's docstring (``dict(**kwargs)
    -> new dictionary ...``), which says nothing about the constant: show none."""
    if what in ("data", "attribute") and lines and "\n".join(lines).strip() == (type(obj).__doc__ or "").strip():
        lines.clear()


def setup(app) -> None:
    app.connect("autodoc-process-docstring", _drop_type_docstrings)
