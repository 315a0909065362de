"""``gwrep data``: list the data sets, save a factor set's contact sheet, verify file checksums.

    gwrep data list
    gwrep data show shapes3d --out sheet.png [--data-root PATH] [--option variant=subset] [--seed 0]
    gwrep data verify ../shared/data
"""
from __future__ import annotations

import argparse

from gwrep.commands.train import parse_assignments

HELP = "list data sets, save a factor set's contact sheet (show), verify checksums of data files (verify)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("list", help="list the data sets, their options and protocols")
    show = sub.add_parser("show", help="PNG grid of a factor set: one row per factor varied alone")
    show.add_argument("name", help="a factor data set ('gwrep data list': factors yes), e.g. shapes2d, "
                                   "color-dsprites, smallnorb, mpi3d-toy")
    show.add_argument("--out", required=True, help="PNG file to write")
    show.add_argument("--data-root", "--root", dest="root", default=None, metavar="PATH",
                      help="data file or folder (not for procedural sets), as every command's --data-root "
                           "(--root is kept as an alias)")
    show.add_argument("--seed", type=int, default=0, help="seed of the base factor tuple (default 0)")
    show.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                      help="data option, value parsed as JSON when possible (repeatable), e.g. variant=subset")
    verify = sub.add_parser("verify", help="sha256 (md5 for ungzipped MNIST files) of a file or every file in a "
                                           "folder against the known sums; headers of SmallNORB, Cars3D and MPI3D "
                                           "files (no sums published): valid or BAD")
    verify.add_argument("path")
    verify.add_argument("--all", action="store_true", help="also list each file with no known checksum")


def run(args: argparse.Namespace) -> int:
    if args.action == "list":
        from gwrep.data.catalog import COMMON_OPTIONS, DATASETS, PROTOCOLS

        print(f"{'name':<16} {'factors':<8} {'root':<9} summary")
        for name, entry in DATASETS.items():
            print(f"{name:<16} {'yes' if entry.factors else 'no':<8} {entry.root_use:<9} {entry.summary}")
        print(f"\ncommon options: {', '.join(COMMON_OPTIONS)}; protocols: {', '.join(PROTOCOLS)}")
        return 0
    if args.action == "show":
        from gwrep.data import load_factor_data
        from gwrep.data.sheet import save_contact_sheet

        from gwrep.data.clips import is_clip_data, save_clip_sheet

        data = load_factor_data(args.name, args.root, **parse_assignments(args.option, "--option"))
        if is_clip_data(data):  # one clip per row, a block of rows per factor
            path = save_clip_sheet(data, args.out, seed=args.seed,
                                   title=f"{args.name}: each block varies one factor alone (one clip per row)")
        else:
            path = save_contact_sheet(data, args.out, seed=args.seed,
                                      title=f"{args.name}: each row varies one factor alone (class index above each "
                                            "image)")
        print(f"wrote {path}")
        if getattr(data, "background_source", None):  # scream-dsprites: which painting the images use
            print(f"background: {data.background_source}")
        return 0
    from gwrep.data.verify import verify

    results = verify(args.path)
    unknown = [path for path, status, _ in results if status == "unknown"]
    for path, status, problem in results:
        if status != "unknown" or args.all or len(results) == 1:
            print(f"{status:<8} {path}" + (f": {problem}" if problem else ""))
    if unknown and not (args.all or len(results) == 1):
        print(f"unknown  {len(unknown)} other file(s) with no known checksum (--all lists them)")
    return 1 if any(status in ("MISMATCH", "BAD") for _, status, _ in results) else 0
