"""Subcommands of the ``gwrep`` CLI, one module each (see :mod:`gwrep.cli`)."""
