"""Every Python block of README.md and docs/*.md runs.

Each fenced block whose info string starts with ``python`` is executed in a namespace of its own,
in a temporary working directory (what it writes lands there), with the repository root on
``sys.path``. A block of ``>>>`` lines runs as a doctest: its shown output is compared too. A
block that cannot run here (it needs data, a download, a GPU or a long training) says so in its
fence's info string, with the reason, and is reported as skipped with it::

    ```python skip-test: reads a trained super-network checkpoint

Nothing else may follow ``python`` there. Be sparing: a block that runs in a few seconds on tiny
inputs should run, made self-contained (no block sees another's names) rather than skipped.
"""
import doctest
import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / 'README.md', *sorted((ROOT / 'docs').glob('*.md'))]
FENCE = re.compile(r'^(?P<indent>\s*)```python(?P<info>.*)$')
SKIP = re.compile(r'skip-test:\s*(?P<reason>\S.*)')


def python_blocks(path: Path) -> list:
    """``(line, info, code)`` of each Python block of ``path`` (``line``: the fence's, 1-based)."""
    lines, blocks, i = path.read_text().splitlines(), [], 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        i += 1
        if fence is None:
            continue
        start, indent = i, len(fence['indent'])
        while not lines[i].strip().startswith('```'):
            i += 1
        # a block inside a list item is indented as its fence is
        body = '\n'.join(line[indent:] for line in lines[start:i])
        blocks.append((start, fence['info'].strip(), textwrap.dedent(body)))
        i += 1
    return blocks


BLOCKS = [pytest.param(path, line, info, code, id=f'{path.relative_to(ROOT)}:{line}')
          for path in FILES for line, info, code in python_blocks(path)]


def test_the_docs_have_python_blocks():
    """The collection itself: a changed fence syntax would otherwise test nothing."""
    names = {param.values[0].name for param in BLOCKS}
    assert {'README.md', 'search.md', 'transfer.md'} <= names


@pytest.mark.parametrize('path, line, info, code', BLOCKS)
def test_python_block_runs(path, line, info, code, tmp_path, monkeypatch):
    if info:
        skip = SKIP.fullmatch(info)
        assert skip, (f'{path.name}:{line}: fence info {info!r}: allowed nothing, or '
                      '"skip-test: <why it cannot run here>"')
        pytest.skip(skip['reason'])
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(ROOT))
    name = f'{path.relative_to(ROOT)}:{line}'
    if code.lstrip().startswith('>>>'):
        test = doctest.DocTestParser().get_doctest(code, {'__name__': 'snippet'}, name,
                                                   str(path), line)
        report = []
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS
                                       | doctest.NORMALIZE_WHITESPACE)
        runner.run(test, out=report.append)
        assert runner.failures == 0, ''.join(report)
    else:
        exec(compile(code, name, 'exec'), {'__name__': 'snippet'})  # noqa: S102
