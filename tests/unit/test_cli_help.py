"""Every subcommand and option of ``python -m ml_tasks`` says what it does (``--help``)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from ml_tasks.cli import build_parser


def _walk(
    parser: argparse.ArgumentParser, path: str
) -> Iterator[tuple[str, argparse.Action, str | None]]:
    """(command path, action, help) for every action, subcommands included, depth first."""
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                yield f"{path} {name}", action, helps.get(name)
                yield from _walk(sub, f"{path} {name}")
            continue
        yield path, action, action.help


def test_every_subcommand_and_option_has_help():
    missing = [
        f"{path}: {'/'.join(action.option_strings) or action.dest}"
        for path, action, text in _walk(build_parser(), "ml_tasks")
        if not (text and text.strip() and text != argparse.SUPPRESS)
    ]
    assert missing == []


def test_the_walk_reaches_nested_subcommands_and_demo_options():
    seen = {
        (path, "/".join(action.option_strings))
        for path, action, _ in _walk(build_parser(), "ml_tasks")
    }
    assert ("ml_tasks demo", "--days") in seen
    assert any(path.startswith("ml_tasks features ") for path, _ in seen)
    assert any(path.startswith("ml_tasks index ") for path, _ in seen)
