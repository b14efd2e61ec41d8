"""The package layers: imports point down only, and the search algorithms import no engine."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# package -> the project packages it may import (directly or lazily inside a function)
ALLOWED = {
    'common': set(),
    'supernet': {'common'},
    'transfer': {'common'},
    'search': {'common', 'supernet', 'transfer'},
    'analysis': {'common', 'supernet', 'transfer', 'search'},
    'reproduce': {'common', 'supernet', 'transfer', 'search', 'analysis'},
}


def imported_packages(path: Path) -> set:
    """Top-level project packages named by any import statement in ``path``."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split('.')[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split('.')[0])
    return names & set(ALLOWED)


def test_every_import_points_down_the_layers():
    wrong = []
    for package, allowed in ALLOWED.items():
        for path in sorted((ROOT / package).rglob('*.py')):
            for imported in imported_packages(path) - allowed - {package}:
                wrong.append(f'{path.relative_to(ROOT)} imports {imported}')
    assert not wrong, wrong


def test_the_walk_sees_lazy_imports(tmp_path):
    # the check above must catch an import hidden in a function, as supernet's old grow_backbone
    module = tmp_path / 'm.py'
    module.write_text('def f():\n    from transfer import transfer_weights\n')
    assert imported_packages(module) == {'transfer'}


ENGINE_FREE = '''
import sys
import search
from search import greedy_search, random_search
from search.greedy import greedy_search as same
result = greedy_search('resnet_bottleneck', 8, lambda a: -abs(a[2] - 3), counter=False)
best = result.best.allocation
assert sum(best) == 8 and best[2] == 3, best
random_search('resnet_basic', 6, lambda a: a[0], num_evaluations=3, counter=False)
heavy = sorted(m for m in sys.modules
               if m.split('.')[0] in ('mmdet', 'mmpretrain', 'mmcv')
               or m == 'mmengine.runner' or m.startswith('mmengine.runner.'))
print('heavy:', heavy)
'''


def test_search_algorithms_import_no_engine():
    result = subprocess.run([sys.executable, '-c', ENGINE_FREE], capture_output=True, text=True,
                            timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'heavy: []' in result.stdout, result.stdout


def test_no_tool_shadows_a_package():
    tools = {p.stem for p in (ROOT / 'tools').glob('*.py')}
    assert not tools & (set(ALLOWED) | {'supernet', 'search', 'transfer'}), tools



MODELS_ENGINE_FREE = '''
import sys
from supernet import (MnasNetSuperNet, MobileNetV2SuperNet, ResNetSuperNet, build_backbone,
                      init_from)
child = build_backbone('resnet_basic', (1, 1, 1, 1))
warm = init_from('resnet_basic', child.state_dict())
assert type(MobileNetV2SuperNet().get_subnet((1, 1, 1, 1, 1))) is MobileNetV2SuperNet.static_class
from mmengine.registry import MODELS
ours = sorted(m for m in sys.modules if m in ('supernet.registry', 'supernet.engine',
                                               'supernet.datasets'))
print('ours:', ours, 'registered:', MODELS.get('ResNetSuperNet'))
heavy = sorted(m for m in sys.modules
               if m in ('mmdet', 'mmpretrain', 'mmengine.runner'))
print('heavy:', heavy)
'''


@pytest.fixture(scope='module')
def models_imported():
    result = subprocess.run([sys.executable, '-c', MODELS_ENGINE_FREE], capture_output=True,
                            text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_models_and_warm_start_touch_no_engine_registry(models_imported):
    # supernet.registry alone registers the backbones; the models and init_from do not load it
    assert 'ours: [] registered: None' in models_imported, models_imported


def test_models_and_warm_start_import_no_engine(models_imported):
    assert 'heavy: []' in models_imported, models_imported
