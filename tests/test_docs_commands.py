"""Commands the docs cite are commands a reader can paste (issue 26): every ``gwrep ...`` line of
the README and of ``docs/*.md`` (code blocks, indented blocks and inline code) parses with that
command's own argument parser, and every ``python benchmarks/<name>.py --flag`` names a script
that has that flag. Template lines (``RUN|FOLDER ...``, ``[--fast]``) are left out."""
from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import re
import shlex
from pathlib import Path

import pytest

from gwrep.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: Placeholder syntax: such a line shows a form, not a command to paste.
TEMPLATE = re.compile(r"\||\.\.\.|\[|<[a-z]")


def cited_commands(text: str) -> list[tuple[str, str]]:
    """Shell commands in markdown ``text`` that run ``gwrep`` or ``python benchmarks/...``, as
    ``(kind, command)``: ``"block"`` for lines of fenced and indented code blocks (continuations
    joined, comments and leading ``VAR=value`` dropped, shell variables read as ``0``), ``"inline"``
    for inline code spans, which may name a command without its arguments (`gwrep eval`).

    >>> cited_commands("Run `gwrep eval RUN --fast`.\\n\\n```bash\\nN=1 gwrep train \\\\\\n  --seed $S  # short\\n```\\n")
    [('block', 'gwrep train --seed 0'), ('inline', 'gwrep eval RUN --fast')]
    """
    lines: list[str] = []
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced or line.startswith("    "):
            lines.append(line.strip())
    blocks = "\n".join(lines).replace("\\\n", " ").splitlines()
    found = []
    for kind, candidates in (("block", blocks), ("inline", re.findall(r"(?<!`)`([^`\n]+)`(?!`)", text))):
        for line in candidates:
            line = re.sub(r"\s+#.*$", "", line).strip()
            for part in line.split("&&"):
                words = re.sub(r"\$\{?\w+\}?", "0", part).split()
                while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):  # OMP_NUM_THREADS=1 gwrep ...
                    words = words[1:]
                if len(words) > 1 and (words[0] == "gwrep" or (words[0] in ("python", "python3")
                                                               and words[1].startswith("benchmarks/"))):
                    found.append((kind, " ".join(words)))
    return found


def _all_commands() -> list[tuple[str, str, str]]:
    cases = [(str(path.relative_to(ROOT)), kind, cmd) for path in DOCS for kind, cmd in cited_commands(path.read_text())]
    return [case for case in dict.fromkeys(cases) if not TEMPLATE.search(case[2])]


def _options(parser: argparse.ArgumentParser) -> set[str]:
    """Every option string of ``parser`` and of its subcommands' parsers."""
    found = set(parser._option_string_actions)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _options(sub)
    return found


def _parser(command: str) -> argparse.ArgumentParser:
    module = importlib.import_module(f"gwrep.commands.{command}")
    parser = argparse.ArgumentParser(prog=f"gwrep {command}", exit_on_error=False)
    module.add_arguments(parser)
    return parser


def test_the_docs_cite_commands_and_the_scan_finds_them():
    cases = _all_commands()
    assert len([c for c in cases if c[1] == "block"]) > 30
    assert any(cmd.startswith("gwrep experiment ood-mnist-omniglot") for _, _, cmd in cases)
    assert any(where == "docs/results.md" for where, _, _ in cases)


@pytest.mark.parametrize("where,kind,command", _all_commands(), ids=lambda v: v[:70])
def test_cited_command_parses(where, kind, command):
    words = shlex.split(command)
    if words[0] != "gwrep":  # python benchmarks/<name>.py --flag ...
        script = ROOT / words[1]
        assert script.is_file(), f"{where}: {words[1]} does not exist"
        flags = [w.split("=")[0] for w in words[2:] if w.startswith("--")]
        unknown = [f for f in flags if f not in script.read_text()]
        assert unknown == [], f"{where}: {words[1]} has no option {unknown}"
        return
    names = words[1].split("/")  # `gwrep ood/compare --out`: both commands
    assert all(n in COMMANDS for n in names), f"{where}: gwrep has no command {words[1]!r} ({command})"
    for name in names:
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                _parser(name).parse_args(words[2:])
        except (argparse.ArgumentError, SystemExit) as exc:
            message = f"{exc} {err.getvalue().strip()}"
            if kind == "inline":  # a command named in prose (`gwrep eval`, `--out`): its options must exist
                flags = {w.split("=")[0] for w in words[2:] if w.startswith("--")}
                assert flags <= _options(_parser(name)), f"{where}: gwrep {name} has no option(s) {flags}"
                continue
            pytest.fail(f"{where}: `{command}` does not parse: {message}")
