"""Moved modules and renamed functions keep their old names for one release, warning once."""
import subprocess
import sys
from pathlib import Path

import pytest

from common import deprecation

ROOT = Path(__file__).resolve().parents[1]

# run in a fresh interpreter: the warnings are once per process, and the old names must resolve
# whatever was imported before them
OLD_NAMES = '''
import warnings
warnings.simplefilter('always')
with warnings.catch_warnings(record=True) as caught:
    import supernet.engine.hooks as old_hooks
    import engine.hooks
    assert old_hooks is engine.hooks, (old_hooks, engine.hooks)
    assert old_hooks.__spec__.name == 'engine.hooks'
    import supernet.registry  # what configs of earlier releases import
    from mmengine.registry import HOOKS, MODELS
    assert HOOKS.get('DepthSamplingHook') is engine.hooks.DepthSamplingHook
    assert MODELS.get('AllocatedResNet') is not None
    from supernet.export import export_child, child_backbone
    from supernet.extract import extract_subnet_checkpoint, subnet_backbone
    assert export_child is extract_subnet_checkpoint and child_backbone is subnet_backbone
    from supernet import init_from
    import initialize
    assert init_from is initialize.init_from
    from supernet import init_from as again
    from search.engine import finetune_child, EVALUATORS
    from engine.training import finetune_subnet
    assert finetune_child is finetune_subnet
    from search.grow import export_grown_child
    assert export_grown_child is initialize.extract_subnet_beyond_max
    from search.warm_start import FILL_RULES
    assert 'dpiat' in FILL_RULES and 'identity' in FILL_RULES
    from supernet.datasets import write_image_folder
    import archdata
    assert write_image_folder is archdata.write_image_folder
    from supernet import ResNetSuperNet
    ResNetSuperNet('resnet_basic').static_backbone((1, 1, 1, 1))
    ResNetSuperNet('resnet_basic').static_backbone((1, 1, 1, 1))
messages = [str(w.message) for w in caught if issubclass(w.category, FutureWarning)]
for line in messages:
    print('WARN', line)
'''


def test_old_names_resolve_to_the_new_objects_and_warn_once():
    result = subprocess.run([sys.executable, '-c', OLD_NAMES], capture_output=True, text=True,
                            timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    warned = [line[5:] for line in result.stdout.splitlines() if line.startswith('WARN ')]
    olds = [line.split(' is deprecated')[0] for line in warned]
    assert len(olds) == len(set(olds)), warned  # each old name once, used twice or not
    for old, new in [('supernet.engine', 'engine'), ('supernet.registry', 'engine.registry'),
                     ('supernet.export', 'supernet.extract'),
                     ('supernet.extract.export_child', 'supernet.extract.extract_subnet_checkpoint'),
                     ('supernet.init_from', 'initialize.init_from'),
                     ('engine.evaluators.finetune_child', 'engine.training.finetune_subnet'),
                     ('search.grow', 'initialize.grow'),
                     ('ResNetSuperNet.static_backbone', 'build_subnet')]:
        assert f'{old} is deprecated and will be removed in the next release; use {new}' \
            in warned, (old, warned)


def test_every_moved_module_names_an_existing_module():
    for old, new in deprecation.MOVED_MODULES.items():
        path = ROOT.joinpath(*new.split('.'))
        assert path.with_suffix('.py').is_file() or (path / '__init__.py').is_file(), new
        assert not ROOT.joinpath(*old.split('.')).with_suffix('.py').exists(), old  # moved


def test_an_unknown_old_attribute_is_an_attribute_error():
    import search
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        search.nothing_here  # noqa: B018
