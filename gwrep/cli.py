"""The ``gwrep`` command line: ``gwrep train | eval | ood | compare | sweep | experiment | study | bench | data``.

Each subcommand lives in ``gwrep/commands/<name>.py`` and defines ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``. Modules are imported only when their
command runs, so ``gwrep --help`` stays instant.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

__all__ = ["main", "COMMANDS"]

#: command -> one-line summary (kept here so ``gwrep --help`` imports nothing heavy).
COMMANDS: dict[str, str] = {
    "train": "train a model (GWAE by default) and write a run folder",
    "eval": "compute disentanglement / generation metrics of a run and write eval.json",
    "ood": "score in- and out-of-distribution data with runs' OoD scores; AUROC and ROC curves",
    "compare": "tabulate and plot metrics of several runs side by side",
    "sweep": "train a grid of configurations (seeds, hyperparameters)",
    "experiment": "run one of the paper's experiments end to end ('gwrep experiment list')",
    "study": "run a study of unsupervised disentanglement end to end ('gwrep study list')",
    "bench": "time the engine and models (gw, data, train-step, metrics) and write JSON",
    "data": "list, show, and verify data sets",
}


def _version() -> str:
    from gwrep import __version__

    return __version__


def _top_parser() -> argparse.ArgumentParser:
    lines = "\n".join(f"  {name:<10} {text}" for name, text in COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="gwrep",
        description="Gromov-Wasserstein Autoencoders and optimal-transport representation learning.",
        epilog=f"commands:\n{lines}\n\n'gwrep COMMAND --help' shows a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"gwrep {_version()}")
    parser.add_argument("command", nargs="?", choices=list(COMMANDS), metavar="COMMAND")
    return parser


def _environment_error(command: str, err: BaseException) -> int:
    """Every ``OSError`` (a read-only mount, a name too long) and out-of-memory failure as one line naming
    the path or the size (exit 1); any other error is a bug and keeps its traceback."""
    from gwrep.integrity import memory_error_text

    text = memory_error_text(err)
    if text is None and isinstance(err, OSError):
        text = str(err)
    if text is None:
        raise err
    print(f"gwrep {command}: error: {' '.join(text.split())}", file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gwrep`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    top = _top_parser()
    if not argv or argv[0].startswith("-"):
        args = top.parse_args(argv)
        if args.command is None:
            top.print_help()
            return 0
    command = argv[0]
    if command not in COMMANDS:
        top.error(f"unknown command {command!r}; choose one of {', '.join(COMMANDS)}")
    module = importlib.import_module(f"gwrep.commands.{command}")
    parser = argparse.ArgumentParser(prog=f"gwrep {command}", description=module.HELP)
    module.add_arguments(parser)
    args = parser.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except (ValueError, FileNotFoundError, NotADirectoryError, FileExistsError, IsADirectoryError,
            PermissionError) as err:
        # Bad input: one clear line, no traceback.
        print(f"gwrep {command}: error: {err}", file=sys.stderr)
        return 2
    except (RuntimeError, OSError) as err:
        # Training failures (train, sweep, experiment) are one line too. Their classes are imported
        # here, after the failure, so commands that never train do not pay torch's import at start-up.
        from gwrep.models.base import NonFiniteLossError
        from gwrep.train.run import RunLockedError
        from gwrep.train.trainer import RunWriteError

        if isinstance(err, RunLockedError):  # another process trains in a run folder this command wants
            print(f"gwrep {command}: error: {err}", file=sys.stderr)
            return 2
        if isinstance(err, (NonFiniteLossError, RunWriteError)):  # stopped, last good checkpoint intact
            print(f"gwrep {command}: stopped: {err}", file=sys.stderr)
            return 1
        return _environment_error(command, err)
    except MemoryError as err:
        return _environment_error(command, err)
    except KeyboardInterrupt:
        print(f"gwrep {command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
