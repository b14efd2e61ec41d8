"""Every backbone builds from a config dict through mmdet's and mmpretrain's registries after
``import engine.registry``, as a config with ``custom_imports=dict(imports=['engine.registry'])``
does."""
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent('''
    import engine.registry
    from mmdet.registry import MODELS as MMDET_MODELS
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS

    cfgs = [
        dict(type='AllocatedResNet', stage_blocks=(1, 3, 7, 5), out_indices=(3,)),
        dict(type='ResNetSuperNet', space='resnet_basic', frozen_stages=1),
        dict(type='AllocatedMobileNetV2', stage_blocks=(2, 2, 2, 3, 5)),
        dict(type='MobileNetV2SuperNet', norm_eval=True),
        dict(type='AllocatedMnasNet', stage_blocks=(3, 3, 2, 3, 4)),
        dict(type='MnasNetSuperNet'),
    ]
    for scope, registry in (('mmdet', MMDET_MODELS), ('mmpretrain', MMPRETRAIN_MODELS)):
        # As inside a Runner, whose default_scope makes this registry the one searched first.
        with DefaultScope.overwrite_default_scope(scope):
            for cfg in cfgs:
                model = registry.build(dict(cfg))
                assert type(model).__name__ == cfg['type'], (scope, cfg)
                print(scope, cfg['type'], 'ok')
''')


def test_backbones_build_through_mmdet_and_mmpretrain_registries():
    result = subprocess.run([sys.executable, '-c', SCRIPT], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count(' ok') == 12
