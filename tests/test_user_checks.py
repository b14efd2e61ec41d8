"""A new user's mistakes answered in one line before any work: a config naming another allocation
than the subnet checkpoint it loads, a checkpoint that does not fit transfer_weights' network, a
transfer that covers too little, an allocation in either spelling."""
import argparse
import subprocess
import sys
from importlib import util
from pathlib import Path

import pytest
import torch
from conftest import one_line_error
from mmengine.config import Config

from common.checkpoint import atomic_save, load_checkpoint_safely
from common.cli import parsed_by, run_cli
from engine.subnet_checkpoint import check_subnet_allocation
from supernet import build_backbone, parse_allocation
from supernet.extract import extract_subnet_checkpoint

ROOT = Path(__file__).resolve().parents[1]
TARGET_CONFIG = ROOT / 'configs/demo/finetune_subnet_digits.py'  # says stage_blocks=(1, 3, 7, 5)


def run(tool, *args, cwd=ROOT):
    return subprocess.run([sys.executable, str(ROOT / 'tools' / tool), *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=cwd)


class Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def in_process(capsys, tool, *args):
    """``run(tool, *args)`` without a new interpreter: the tool's ``main`` under ``run_cli``, as
    its ``__main__`` calls it (one subprocess per check keeps the end-to-end proof)."""
    spec = util.spec_from_file_location(tool.removesuffix('.py'), ROOT / 'tools' / tool)
    module = util.module_from_spec(spec)
    spec.loader.exec_module(module)
    capsys.readouterr()
    try:
        run_cli(module.main, list(map(str, args)), prog=tool)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)




@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """A demo super-network checkpoint (classifier keys, space in its meta) and the subnet
    1-4-5-2 that tools/extract_subnet.py cuts from it."""
    tmp = tmp_path_factory.mktemp('subnets')
    torch.manual_seed(0)
    state = {f'backbone.{k}': v for k, v in
             build_backbone('resnet_bottleneck_demo').state_dict().items()}
    atomic_save({'state_dict': state, 'meta': {'space': 'resnet_bottleneck_demo'}},
                tmp / 'supernet.pth')
    extract_subnet_checkpoint(tmp / 'supernet.pth', (1, 4, 5, 2), tmp / 'subnet_1-4-5-2.pth')
    return dict(supernet=tmp / 'supernet.pth', subnet=tmp / 'subnet_1-4-5-2.pth')


# ------------------------------------------------------ the allocation travels with the weights

def test_subnet_checkpoint_records_its_allocation(checkpoints):
    meta = load_checkpoint_safely(checkpoints['subnet'])['meta']
    assert meta['allocation'] == [1, 4, 5, 2] and meta['space'] == 'resnet_bottleneck_demo'


def test_train_refuses_a_config_naming_another_allocation_than_its_checkpoint(tmp_path,
                                                                           checkpoints):
    """1-4-5-2's weights under a config saying (1, 3, 7, 5): refused in one line naming both and
    the file, before the runner exists (no work dir, no data read, no step)."""
    work = tmp_path / 'work'
    result = run('train.py', TARGET_CONFIG, '--work-dir', work, '--data-root', tmp_path / 'none',
                 '--cfg-options', f'model.backbone.init_cfg.checkpoint={checkpoints["subnet"]}')
    one_line_error(result, 'stage_blocks is 1-3-7-5', str(checkpoints['subnet']),
                   'holds the subnet 1-4-5-2', 'stage_blocks=(1,4,5,2)')
    assert result.stdout == '' and not work.exists()


def test_build_runner_refuses_a_mismatched_load_from(tmp_path, checkpoints):
    from engine.launch import build_runner
    cfg = Config.fromfile(TARGET_CONFIG)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.model.backbone.init_cfg = None
    cfg.load_from = str(checkpoints['subnet'])
    with pytest.raises(ValueError, match=r'stage_blocks is 1-3-7-5, but .*subnet_1-4-5-2\.pth '
                                         r'\(load_from\) holds the subnet 1-4-5-2'):
        build_runner(cfg)
    assert not (tmp_path / 'work').exists()


def test_a_config_naming_no_allocation_takes_the_checkpoints(checkpoints):
    for given in ('none', 'absent'):
        cfg = Config.fromfile(TARGET_CONFIG)
        cfg.model.backbone.init_cfg.checkpoint = str(checkpoints['subnet'])
        if given == 'none':
            cfg.model.backbone.stage_blocks = None
        else:
            del cfg.model.backbone['stage_blocks']
        check_subnet_allocation(cfg)
        assert cfg.model.backbone.stage_blocks == (1, 4, 5, 2)


def test_matching_and_allocation_free_checkpoints_pass(checkpoints):
    cfg = Config.fromfile(TARGET_CONFIG)
    cfg.model.backbone.stage_blocks = (1, 4, 5, 2)
    cfg.model.backbone.init_cfg.checkpoint = str(checkpoints['subnet'])
    cfg.load_from = str(checkpoints['supernet'])  # no allocation in its meta: not checked
    check_subnet_allocation(cfg)
    assert cfg.model.backbone.stage_blocks == (1, 4, 5, 2)
    cfg.model.backbone.space = 'resnet_bottleneck'  # another space than the checkpoint's
    with pytest.raises(ValueError, match="subnet of the space 'resnet_bottleneck_demo'"):
        check_subnet_allocation(cfg)


# ------------------------------------------------------------ transfer_weights checks its inputs

@pytest.fixture(scope='module')
def resnet10t_checkpoint(tmp_path_factory):
    import timm
    path = tmp_path_factory.mktemp('transfer') / 'r10t_1000_classes.pth'
    torch.save(timm.create_model('resnet10t').state_dict(), path)
    return path


def test_transfer_refuses_a_checkpoint_of_another_network_in_one_line(tmp_path, capsys,
                                                                     resnet10t_checkpoint):
    """A 1000-class checkpoint for a 10-class SRC: was a 38-line traceback, exit 1."""
    out = tmp_path / 'out.pth'
    result = run('transfer_weights.py', 'timm:resnet10t', 'timm:resnet14t', '--num-classes', 10,
                 '--src-ckpt', resnet10t_checkpoint, '--out', out)
    one_line_error(result, f'--src-ckpt {resnet10t_checkpoint} does not fit ResNet',
                   'fc.weight (1000, 512) in the file, (10, 512) in ResNet')
    bad = tmp_path / 'bad.safetensors'
    bad.write_bytes(b'not a safetensors file')
    one_line_error(in_process(capsys, 'transfer_weights.py', 'timm:resnet10t', 'timm:resnet14t',
                       '--dst-ckpt', bad, '--out', out),
                   f'--dst-ckpt {bad}: not a readable checkpoint')
    assert not any(p.name.startswith('out') for p in tmp_path.iterdir())


def test_transfer_below_the_default_minimum_coverage_is_refused(tmp_path, capsys,
                                                                resnet10t_checkpoint):
    """ResNet -> ViT covers ~2% of the ViT's tensors: refused, nothing written, unless
    --min-coverage lowers the bar."""
    out = tmp_path / 'vit_init.pth'
    args = ('transfer_weights.py', 'timm:resnet10t', 'timm:vit_tiny_patch16_224', '--src-ckpt',
            resnet10t_checkpoint, '--out', out, '--rows', 0)
    one_line_error(in_process(capsys, *args), 'is below --min-coverage 0.25', 'nothing written',
                   '--min-coverage 0')
    assert list(tmp_path.iterdir()) == []
    result = in_process(capsys, *args, '--min-coverage', 0)
    assert result.returncode == 0, result.stderr[-3000:]
    assert out.exists() and f'wrote {out}' in result.stdout


def test_transfer_method_has_help(capsys):
    result = in_process(capsys, 'transfer_weights.py', '--help')
    assert result.returncode == 0
    help_text = ' '.join(result.stdout.split())
    assert '--method {dpiat,hmt,tli} transfer method' in help_text
    assert 'default 0.25' in help_text


def test_a_visualizer_backend_that_does_not_import_is_refused_in_one_line(tmp_path, capsys,
                                                                         monkeypatch):
    """TensorboardVisBackend where tensorboard is not installed: was mmengine's traceback while
    building the runner."""
    monkeypatch.setitem(sys.modules, 'tensorboard', None)  # `import tensorboard` now fails
    result = in_process(capsys, 'train.py', TARGET_CONFIG, '--work-dir', tmp_path / 'work',
                        '--cfg-options', 'visualizer.vis_backends.0.type=TensorboardVisBackend')
    one_line_error(result, "visualizer.vis_backends.0.type='TensorboardVisBackend'",
                   'pip install tensorboard')
    assert not (tmp_path / 'work').exists()  # refused before the runner made its work dir


# ------------------------------------------------------------ one allocation format in and out

def test_parse_allocation_takes_both_spellings():
    assert parse_allocation('1-3-7-5') == parse_allocation('1,3,7,5') == (1, 3, 7, 5)
    assert parse_allocation(' [2, 5, 19, 7] ') == (2, 5, 19, 7)
    assert parse_allocation('-1,1,1,1') == (-1, 1, 1, 1)  # the space says what is wrong
    for bad in ('1;3;7;5', '1-3,7-5', '1--3', '', '-1-3-7-5'):
        with pytest.raises(ValueError, match='e.g. 1-3-7-5 or 1,3,7,5'):
            parse_allocation(bad)


def test_a_bad_allocation_names_the_flag_the_value_and_the_forms(capsys):
    parser = argparse.ArgumentParser()
    parser.add_argument('--allocation', action=parsed_by(parse_allocation))
    parser.add_argument('--allocations', nargs='+', action=parsed_by(parse_allocation))
    args = parser.parse_args(['--allocation', '1-3-7-5', '--allocations', '1,2,3,4', '2-2-2-2'])
    assert args.allocation == (1, 3, 7, 5) and args.allocations == [(1, 2, 3, 4), (2, 2, 2, 2)]
    with pytest.raises(ValueError, match=r"^--allocation: allocation '1;3': .*1-3-7-5 or 1,3,7,5"):
        parser.parse_args(['--allocation', '1;3'])
    # type=parse_allocation (tools not using the action): argparse's line says why, not
    # "invalid parse_allocation value"
    typed = argparse.ArgumentParser()
    typed.add_argument('--allocation', type=parse_allocation)
    with pytest.raises(SystemExit):
        typed.parse_args(['--allocation', '1;3'])
    err = capsys.readouterr().err
    assert "argument --allocation: allocation '1;3'" in err and 'invalid' not in err


def test_extract_subnet_takes_both_spellings_and_prints_one(tmp_path, capsys, checkpoints):
    written = {}
    for text, how in (('1-3-7-5', run), ('1,3,7,5', in_process)):
        out = tmp_path / f'{text}.pth'
        result = (how('extract_subnet.py', checkpoints['supernet'], '--allocation', text,
                      '--out', out) if how is run else
                  how(capsys, 'extract_subnet.py', checkpoints['supernet'], '--allocation', text,
                      '--out', out))
        assert result.returncode == 0, result.stderr[-3000:]
        assert f'wrote {out} (subnet 1-3-7-5)' in result.stdout
        written[text] = load_checkpoint_safely(out)
    assert written['1-3-7-5']['meta']['allocation'] == written['1,3,7,5']['meta']['allocation'] \
        == [1, 3, 7, 5]
    assert written['1-3-7-5']['state_dict'].keys() == written['1,3,7,5']['state_dict'].keys()
    for bad, how in (('1;3;7;5', run), ('-1-3-7-5', in_process)):
        args = ('extract_subnet.py', checkpoints['supernet'], '--allocation', bad, '--out',
                tmp_path / 'bad.pth')
        one_line_error(run(*args) if how is run else in_process(capsys, *args),
                       f"--allocation: allocation '{bad}'", '1-3-7-5 or 1,3,7,5')
    assert not (tmp_path / 'bad.pth').exists()
