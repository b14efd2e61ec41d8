import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.registry import DefaultScope
from torch.nn.modules.batchnorm import _BatchNorm

ROOT = Path(__file__).resolve().parents[1]


def load_script(path, name: str | None = None):
    """A script of tools/, benchmarks/ or scripts/ (not packages) imported as a module, so a
    test can call its functions in-process instead of paying a subprocess's imports."""
    import importlib.util
    path = Path(path)
    spec = importlib.util.spec_from_file_location(name or f'script_{path.stem}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True, scope='module')
def restore_default_scope():
    """A Runner makes its config's default_scope ('mmdet', 'mmpretrain') the registry scope of the
    whole process; every test module leaves the next one the scope it found."""
    saved = DefaultScope._instance_dict.copy()
    yield
    DefaultScope._instance_dict = saved


def randomize_batchnorm(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give every BatchNorm non-trivial statistics and affine parameters, so a test comparing
    two networks in eval mode would notice a misplaced or skipped BatchNorm."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, _BatchNorm):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(n, generator=gen) * 0.5 + 0.5)
                m.bias.copy_(torch.randn(n, generator=gen) * 0.1)
    return model


class Counting:
    """An ``evaluate(allocation)`` wrapper recording every call, in order."""

    def __init__(self, fn):
        self.fn, self.calls = fn, []

    def __call__(self, allocation):
        self.calls.append(tuple(allocation))
        return self.fn(allocation)


def search_state(model):
    """What scoring a candidate must leave as it found: weights and statistics, every module's
    train/eval flag, the super-network backbone's allocation."""
    return ({k: v.clone() for k, v in model.state_dict().items()},
            [m.training for m in model.modules()], model.backbone.allocation)


def assert_search_state_unchanged(model, before):
    state, modes, allocation = before
    after = model.state_dict()
    assert after.keys() == state.keys()
    assert all(torch.equal(after[k], v) for k, v in state.items())
    assert [m.training for m in model.modules()] == modes
    assert model.backbone.allocation == allocation


@pytest.fixture
def images():
    return torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))


def run_tool(*args, check=True):
    """A tool run as a user runs it (its own process, one torch thread); asserts it succeeded
    unless ``check`` is false."""
    result = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True,
                            cwd=ROOT, timeout=600,
                            env={**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(ROOT)})
    if check:
        assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-4000:])
    return result


@pytest.fixture(scope='session')
def report(tmp_path_factory):
    """One reduced ``tools/report.py`` run (about a minute): its folder, JSON and markdown."""
    out = tmp_path_factory.mktemp('report') / 'report'
    run_tool(ROOT / 'tools/report.py', '--reduced', '--out', out, '--data-root',
             out.parent / 'data', '--seed', '3')
    return out, json.loads((out / 'report.json').read_text()), (out / 'README.md').read_text()


def one_line_error(result, *fragments, quiet_stdout: bool = False):
    """A tool's refusal: exit 2 and one line on stderr holding every fragment (``quiet_stdout``:
    nothing on stdout either — no config dump, no runner); returns the line."""
    assert result.returncode == 2, (result.stdout[-2000:], result.stderr[-3000:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-3000:]
    if quiet_stdout:
        assert result.stdout == ''
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]
