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
    'initialize': {'common', 'supernet', 'transfer'},
    'search': {'common', 'supernet', 'transfer', 'initialize'},
    'archdata': {'common'},
    'engine': {'common', 'supernet', 'transfer', 'initialize', 'search', 'archdata'},
    'analysis': {'common', 'supernet', 'transfer', 'search', 'archdata'},
    'reproduce': {'common', 'supernet', 'transfer', 'initialize', 'search', 'archdata', 'engine',
                  'analysis'},
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
    # the check above must catch an import hidden in a function, as supernet's old grow_subnet
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
from supernet import MnasNetSuperNet, MobileNetV2SuperNet, ResNetSuperNet, build_backbone
from initialize import init_from
subnet = build_backbone('resnet_basic', (1, 1, 1, 1))
warm = init_from('resnet_basic', subnet.state_dict())
assert type(MobileNetV2SuperNet().get_subnet((1, 1, 1, 1, 1))) is MobileNetV2SuperNet.subnet_class
from mmengine.registry import MODELS
ours = sorted(m for m in sys.modules if m in ('engine.registry', 'engine',
                                               'archdata'))
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
    # engine.registry alone registers the backbones; the models and init_from do not load it
    assert 'ours: [] registered: None' in models_imported, models_imported


def test_models_and_warm_start_import_no_engine(models_imported):
    assert 'heavy: []' in models_imported, models_imported


def module_imports() -> dict:
    """``{module: {project modules it imports}}``, lazy imports included; ``from p import x``
    counts as importing ``p.x`` where that is a module, else ``p``."""
    paths = {}
    for package in ALLOWED:
        for path in (ROOT / package).rglob('*.py'):
            parts = path.relative_to(ROOT).with_suffix('').parts
            paths['.'.join(parts[:-1] if parts[-1] == '__init__' else parts)] = path
    graph = {}
    for name, path in paths.items():
        is_package = path.name == '__init__.py'
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ''
                if node.level:
                    anchor = name.split('.')[:len(name.split('.')) - node.level + is_package]
                    base = '.'.join(anchor + ([base] if base else []))
                for alias in node.names:
                    edges.add(f'{base}.{alias.name}' if f'{base}.{alias.name}' in paths else base)
        graph[name] = {edge for edge in edges if edge in paths and edge != name}
    return graph


def import_cycles(graph: dict) -> list:
    """Every strongly connected set of two or more modules (Tarjan)."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph.get(node, ()):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_no_two_modules_import_each_other():
    assert import_cycles(module_imports()) == []


def test_the_cycle_check_sees_a_lazy_circle():
    graph = {'transfer.graph': {'transfer.units'}, 'transfer.units': {'transfer.graph'},
             'transfer.core': {'transfer.units'}}
    assert import_cycles(graph) == [['transfer.graph', 'transfer.units']]


@pytest.mark.parametrize('name', ['init_from', 'recalibrate_bn', 'atomic_save', 'build_runner',
                                  'load_checkpoint_safely', 'extract_subnet'])
def test_one_definition_per_concept(name):
    homes = [str(path.relative_to(ROOT)) for package in (*ALLOWED, 'tools', 'benchmarks')
             for path in (ROOT / package).rglob('*.py')
             if any(isinstance(node, ast.FunctionDef) and node.name == name
                    for node in ast.walk(ast.parse(path.read_text())))]
    assert len(homes) == 1, homes
