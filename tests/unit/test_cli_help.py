"""Every subcommand and option of ``python -m ml_tasks`` and ``python -m ml_platform_demo`` says
what it does (``--help``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator

import pytest

from ml_platform_demo.cli import build_parser as build_demo_parser
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


@pytest.mark.parametrize(
    ("build", "prog"), [(build_parser, "ml_tasks"), (build_demo_parser, "ml_platform_demo")]
)
def test_every_subcommand_and_option_has_help(
    build: Callable[[], argparse.ArgumentParser], prog: str
):
    missing = [
        f"{path}: {'/'.join(action.option_strings) or action.dest}"
        for path, action, text in _walk(build(), prog)
        if not (text and text.strip() and text != argparse.SUPPRESS)
    ]
    assert missing == []


def test_the_walk_reaches_nested_subcommands_and_demo_options():
    seen = {
        (path, "/".join(action.option_strings))
        for path, action, _ in _walk(build_parser(), "ml_tasks")
    }
    demo = {
        (path, "/".join(action.option_strings))
        for path, action, _ in _walk(build_demo_parser(), "ml_platform_demo")
    }
    assert ("ml_platform_demo run", "--days") in demo
    assert ("ml_platform_demo backfill", "--from") in demo
    assert any(path.startswith("ml_tasks features ") for path, _ in seen)
    assert any(path.startswith("ml_tasks index ") for path, _ in seen)
    # The demo's commands live in ml_platform_demo only: the platform CLI has none of them.
    platform = {path.split()[1] for path, _ in seen if " " in path}
    assert platform.isdisjoint({"demo", "run", "generate", "ui", "backfill", "stop"})
