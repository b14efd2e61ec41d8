"""Every option of every tool in tools/*.py says what it does in ``--help``.

The parser is the tool's own: its ``main`` runs until it parses the command line, where the
parser is caught, so nothing after the parsing runs and no interpreter is started per tool.
"""
import argparse
from pathlib import Path

import pytest
from conftest import ROOT, load_script

TOOLS = sorted((ROOT / 'tools').glob('*.py'))


class Parsed(Exception):
    """Raised in place of parsing, carrying the parser."""

    def __init__(self, parser):
        super().__init__(parser.prog)
        self.parser = parser


def tool_parser(path: Path, monkeypatch) -> argparse.ArgumentParser:
    module = load_script(path, f'tool_{path.stem}')

    def caught(parser, *args, **kwargs):
        raise Parsed(parser)

    monkeypatch.setattr(argparse.ArgumentParser, 'parse_args', caught)
    with pytest.raises(Parsed) as parsed:
        module.main([])
    return parsed.value.parser


def test_every_tool_is_checked():
    assert {'greedy_search.py', 'prepare_demo_data.py', 'demo.py', 'report.py',
            'train_supernet.py'} <= {path.name for path in TOOLS}


@pytest.mark.parametrize('path', TOOLS, ids=lambda path: path.name)
def test_every_option_has_help_and_help_names_it(path, monkeypatch):
    parser = tool_parser(path, monkeypatch)
    actions = [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]
    assert actions, f'{path.name}: no options found'
    unexplained = [a.option_strings[0] if a.option_strings else a.dest for a in actions
                   if a.help in (None, argparse.SUPPRESS) or not a.help.strip()]
    assert not unexplained, f'{path.name}: no help text for {unexplained}'
    text = parser.format_help()
    for action in actions:
        for name in action.option_strings or [action.metavar or action.dest]:
            assert name in text, f'{path.name}: --help does not name {name}'
