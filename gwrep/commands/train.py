"""``gwrep train``: train a model and write a run folder.

Options come from ``--config FILE`` (.json/.yaml), then from flags, which override it;
``--resume RUN`` continues a run from its own ``config.json`` and last checkpoint
(``--from-best``: from ``best.pt``, the way back when ``last.pt`` fails its checksum).

With no options at all it trains GWAE with the factorized neural prior on procedural 3D
Shapes rendered at 28x28 for :data:`QUICK_START_STEPS` steps (137 s measured on an idle
2-core CPU, longer under load; colours, and the factors that carry them, are learnt first; dSprites' small
sprites at 28x28 are not, in that time). The quick start counts steps, so its figures do
not depend on the machine's load; :data:`QUICK_START_MAX_MINUTES` is only a safety cap,
and the end message says which of the two stopped it. Give ``--image-size 64`` for the
paper's resolution.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

HELP = ("train a model and write a run folder; with no options, GWAE-FNP on procedural 3D Shapes at 28x28 "
        "for 500 steps (about 2.5 minutes on an idle 2-core CPU)")

#: flag destination -> TrainConfig field, for flags that set a top-level field.
_FIELDS = ("model", "data", "data_root", "steps", "epochs", "max_minutes", "batch_size", "seed", "device",
           "val_fraction", "val_batches", "eval_every", "patience", "log_every", "checkpoint_every", "num_workers",
           "out")
#: flag destination -> model option.
_MODEL_OPTIONS = {"prior": "prior", "latent_dim": "latent_dim", "lr": "lr", "architecture": "architecture"}
#: flag destination -> data option.
_DATA_OPTIONS = {"image_size": "image_size", "channels": "channels"}
#: Data options of the quick start, used when neither a config file nor a data flag is given.
QUICK_START_DATA_OPTIONS = {"image_size": 28}
#: Steps of the quick start, used when neither a config file nor a schedule flag is given. GWAE-FNP at
#: 28x28 took 1.6 CPU-seconds a step on one thread of the 2-core dev machine under load; on both cores
#: of the idle machine the whole 500-step quick start, figures included, took 137 s (2026-12-03).
QUICK_START_STEPS = 500
#: Validations (and figures, with the step in their titles) of the quick start: every 100 steps.
QUICK_START_EVAL_EVERY = 100
#: The quick start's safety cap in minutes (a slow or busy machine stops there, with a checkpoint to resume).
QUICK_START_MAX_MINUTES = 20.0


def parse_value(text: str) -> Any:
    """A flag value as JSON when it parses (``3``, ``1e-4``, ``true``, ``[1, 2]``), else the string.

    >>> parse_value("3"), parse_value("1e-4"), parse_value("true"), parse_value("fnp")
    (3, 0.0001, True, 'fnp')
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_assignments(items: list[str] | None, flag: str) -> dict[str, Any]:
    """``["a=1", "b=x"]`` -> ``{"a": 1, "b": "x"}``; ``ValueError`` names a malformed item or a key given twice
    (``--set steps=5 --set steps=6`` would otherwise keep the last one silently)."""
    out: dict[str, Any] = {}
    given: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"{flag} expects KEY=VALUE, got {item!r}")
        if key in given:
            raise ValueError(f"{flag} sets {key!r} twice ({given[key]!r}, then {item!r}); give each key once")
        given[key] = item
        out[key] = parse_value(value)
    return out


def add_config_arguments(parser: argparse.ArgumentParser, several_models: bool = False) -> None:
    """The flags shared by ``gwrep train`` and ``gwrep sweep`` (all default to "not given")."""
    g = parser.add_argument_group("model")
    if several_models:
        g.add_argument("--model", nargs="+", help="registered model names to sweep over")
    else:
        g.add_argument("--model", help="registered model name (default gwae-fnp); see gwrep.registry")
    g.add_argument("--prior", help="GWAE meta-prior: gaussian, np, fnp, gmp (model option 'prior')")
    g.add_argument("--latent-dim", type=int, help="size of the code z")
    g.add_argument("--lr", type=float, help="learning rate")
    g.add_argument("--architecture", help="encoder/decoder family (dlib, mlp, gwae...)")
    g.add_argument("--option", action="append", metavar="KEY=VALUE", help="any model option (repeatable)")
    g = parser.add_argument_group("data")
    g.add_argument("--data", help="data set name (default shapes3d, procedural)")
    g.add_argument("--data-root", help="folder of the data set's files, or a folder with one subfolder per set "
                   "(DIR/<data> is used when it exists, as ../shared/data)")
    g.add_argument("--image-size", type=int, help="image size, 28 or 64 (data option 'image_size')")
    g.add_argument("--channels", type=int, help="1 (gray) or 3 (colour) (data option 'channels')")
    g.add_argument("--data-option", action="append", metavar="KEY=VALUE", help="any data option (repeatable)")
    g = parser.add_argument_group("schedule")
    g.add_argument("--steps", type=int, help="training steps")
    g.add_argument("--epochs", type=int, help="passes over the training set (instead of --steps)")
    g.add_argument("--max-minutes", type=float, help="time budget of this invocation")
    g.add_argument("--batch-size", type=int, help="batch size (default 64)")
    if not several_models:
        g.add_argument("--seed", type=int, help="random seed (default 0)")
    g.add_argument("--device", help="auto (default), cpu, cuda, cuda:N")
    g.add_argument("--val-fraction", type=float, help="hold out this fraction of the training split for validation")
    g.add_argument("--val-batches", type=int, help="validation batches per evaluation")
    g.add_argument("--eval-every", type=int, help="steps between validations (0: none)")
    g.add_argument("--patience", type=int, help="early stopping after N evaluations without improvement (0: off)")
    g.add_argument("--log-every", type=int, help="steps between metrics lines")
    g.add_argument("--checkpoint-every", type=int, help="steps between checkpoints")
    g.add_argument("--num-workers", type=int, help="data-loader worker processes")
    g.add_argument("--no-figures", action="store_true", help="skip the figures at the end")


def config_options(args: argparse.Namespace, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """TrainConfig options: ``base`` (from a file or run) overridden by the flags given."""
    options = dict(base or {})
    options.pop("_class", None)
    for name in _FIELDS:
        value = getattr(args, name, None)
        if value is not None:
            options[name] = value
    model_options = dict(options.get("model_options") or {})
    model_options.update({key: getattr(args, dest) for dest, key in _MODEL_OPTIONS.items()
                          if getattr(args, dest, None) is not None})
    model_options.update(parse_assignments(args.option, "--option"))
    data_options = dict(options.get("data_options") or {})
    data_options.update({key: getattr(args, dest) for dest, key in _DATA_OPTIONS.items()
                         if getattr(args, dest, None) is not None})
    data_options.update(parse_assignments(args.data_option, "--data-option"))
    if model_options:
        options["model_options"] = model_options
    if data_options:
        options["data_options"] = data_options
    if getattr(args, "no_figures", False):
        options["figures"] = False
    if args.epochs is not None and args.steps is None:
        options.pop("steps", None)  # --epochs replaces a file's steps
    if args.steps is not None and args.epochs is None:
        options.pop("epochs", None)
    return options


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="options from a .json or .yaml file (flags override)")
    parser.add_argument("--resume", metavar="RUN", help="continue the run in folder RUN from its last checkpoint")
    parser.add_argument("--from-best", action="store_true",
                        help="with --resume: continue from checkpoints/best.pt (when last.pt is corrupt)")
    parser.add_argument("--out", help="run folder (default runs/<time>-<model>-<data>)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="--progress: the tqdm bar; --no-progress: no bar and no progress lines (default: the bar "
                        "on a terminal, plain flushed lines every --log-every steps when stdout is not one)")
    add_config_arguments(parser)


def base_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options the flags override: the run's config (``--resume``), a file, or the quick start."""
    from gwrep.train.config import read_config_file
    from gwrep.train.run import CONFIG_FILE

    if args.resume:
        if args.config:
            raise ValueError("--resume continues from the run's own config.json; do not give --config too")
        if args.out and Path(args.out) != Path(args.resume):
            raise ValueError(f"--out {args.out} differs from --resume {args.resume}")
        run_config = Path(args.resume) / CONFIG_FILE
        if not run_config.is_file():
            raise FileNotFoundError(f"cannot resume: {run_config} not found")
        return {**read_config_file(run_config), "out": args.resume}
    if args.from_best:
        raise ValueError("--from-best goes with --resume RUN")
    if args.config:
        return read_config_file(args.config)
    data_flags = (args.data, args.data_root, args.image_size, args.channels, args.data_option)
    base: dict[str, Any] = {}
    if all(v is None for v in data_flags):
        base["data_options"] = dict(QUICK_START_DATA_OPTIONS)
    if all(v is None for v in (args.steps, args.epochs, args.max_minutes)):
        base.update(steps=QUICK_START_STEPS, max_minutes=QUICK_START_MAX_MINUTES, eval_every=QUICK_START_EVAL_EVERY)
    return base


def run(args: argparse.Namespace) -> int:
    from gwrep.train import TrainConfig, train

    config = TrainConfig.from_dict(config_options(args, base_options(args)))
    resume = ("best" if args.from_best else "last") if args.resume else False
    # RunLockedError, RunWriteError and NonFiniteLossError become one line in gwrep.cli.main.
    result = train(config, resume=resume, progress=args.progress)
    print(result.summary.get("message") or result.status)
    print(f"run folder: {result.dir}")
    if result.status == "interrupted":
        return 130
    if config.figures:
        print(f"figures: {result.dir / 'figures'}")
    return 0
