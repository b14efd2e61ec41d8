"""Initialize a network from a trained one of another architecture (HMT / DPIAT / TLI).

    python tools/transfer_weights.py timm:resnet18 timm:resnet34 --src-ckpt r18.pth --out r34_init.pth
    python tools/transfer_weights.py src_cfg.py dst_cfg.py --src-ckpt src.pth --method tli \\
        --opt lam=0.5 --exclude 'head.*' --out work_dirs/dst_init.pth

SRC and DST are ``timm:<name>`` or an mmengine config whose ``model`` dict builds the network
(the project's backbones, ``AllocatedResNet`` etc., are registered for you; the config's
``custom_imports`` are honoured). ``--src-ckpt`` reads ``.safetensors``, plain state dicts and
the project's own training checkpoints (mmengine's, with numpy values in their meta). Writes the
initialized checkpoint (``{'state_dict', 'meta'}``, or ``.safetensors``) and the transfer report
as JSON next to it (``--report`` to choose), and prints the report.

Refused before any model is built: an ``--out`` or ``--report`` that is one of the input files,
or the same file as each other.
"""
import argparse
import importlib
import sys
from pathlib import Path

import torch.nn as nn

from common.checkpoint import atomic_save, atomic_write, read_state_dict
from common.cli import parse_opt, run_cli
from transfer import METHODS, transfer_weights


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='timm:<name> or a config file of the trained network')
    parser.add_argument('dst', help='timm:<name> or a config file of the network to initialize')
    parser.add_argument('--src-ckpt', help='weights of SRC (.pth / .safetensors)')
    parser.add_argument('--dst-ckpt', help='starting weights of DST (default: its own init)')
    parser.add_argument('--method', default='dpiat', choices=sorted(METHODS))
    parser.add_argument('--out', required=True, help='output checkpoint (.pth or .safetensors)')
    parser.add_argument('--report', help='report JSON (default: OUT with .transfer.json)')
    parser.add_argument('--opt', action='append', type=parse_opt, default=[],
                        help='method option key=value (repeatable), e.g. lam=0.5, align=stretch')
    parser.add_argument('--exclude', action='append', default=[],
                        help='glob of DST tensors to leave alone (repeatable), e.g. "fc.*"')
    parser.add_argument('--strict', action='store_true', help='fail if any tensor is untouched')
    parser.add_argument('--min-coverage', type=float, help='fail below this tensor coverage')
    parser.add_argument('--min-similarity', type=float, help='refuse a less similar source')
    parser.add_argument('--num-classes', type=int, help='classes of timm models (both sides)')
    parser.add_argument('--rows', type=int, default=40, help='table rows to print (-1: all)')
    parser.add_argument('--debug', action='store_true', help='tracebacks instead of one-line '
                        'errors')
    args = parser.parse_args(argv)
    args.report = args.report or str(Path(args.out).with_suffix('')) + '.transfer.json'
    inputs = {'--src-ckpt': args.src_ckpt, '--dst-ckpt': args.dst_ckpt, 'SRC': args.src,
              'DST': args.dst}
    for flag, output in (('--out', args.out), ('--report', args.report)):
        for name, given in inputs.items():
            if given and Path(given).resolve() == Path(output).resolve():
                parser.error(f'{flag} {output} is the input {name}: it would be overwritten')
    if Path(args.out).resolve() == Path(args.report).resolve():
        parser.error(f'--report {args.report} is --out: the JSON would replace the checkpoint')
    return args


def build_model(spec: str, **timm_kwargs) -> nn.Module:
    """``'timm:<name>'`` → ``timm.create_model(name, pretrained=False, **timm_kwargs)``; a path
    to an mmengine config → its ``model`` dict built through the registries."""
    if spec.startswith('timm:'):
        import timm
        name = spec[len('timm:'):]
        if not timm.is_model(name):
            raise ValueError(f'{spec!r}: timm has no model {name!r}')
        return timm.create_model(name, pretrained=False, **timm_kwargs)
    if not Path(spec).is_file():
        raise FileNotFoundError(f'{spec!r} is neither timm:<name> nor an existing config file')
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope

    import engine.registry  # noqa: F401  (AllocatedResNet, super-networks, ...)
    cfg = Config.fromfile(spec)  # imports the config's custom_imports
    if 'model' not in cfg:
        raise KeyError(f'{spec}: the config has no `model` dict')
    scope = cfg.get('default_scope')
    if scope:
        importlib.import_module(f'{scope}.utils').register_all_modules(init_default_scope=False)
        init_default_scope(scope)
    return MODELS.build(cfg.model)


def load_weights(model: nn.Module, path) -> nn.Module:
    missing, unexpected = model.load_state_dict(read_state_dict(path), strict=False)
    if missing or unexpected:
        raise KeyError(f'{path} does not fit {type(model).__name__}: missing {missing[:5]}'
                       f'{"..." if len(missing) > 5 else ""}, unexpected {unexpected[:5]}'
                       f'{"..." if len(unexpected) > 5 else ""}')
    return model


def save_weights(path, model: nn.Module, meta: dict) -> Path:
    """``{'state_dict', 'meta'}`` (mmengine's layout), or ``.safetensors`` with ``meta`` as
    string metadata; written atomically."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if str(path).endswith('.safetensors'):
        from safetensors.torch import save
        data = save(state, metadata={k: str(v) for k, v in meta.items()})
        return atomic_write(path, lambda f: f.write(data))
    return atomic_save({'state_dict': state, 'meta': meta}, path)


def main(argv=None):
    args = parse_args(argv)
    timm_kwargs = {} if args.num_classes is None else {'num_classes': args.num_classes}
    source = build_model(args.src, **timm_kwargs)
    target = build_model(args.dst, **timm_kwargs)
    if args.src_ckpt:
        load_weights(source, args.src_ckpt)
    else:
        print(f'warning: no --src-ckpt, transferring the untrained weights of {args.src}',
              file=sys.stderr)
    if args.dst_ckpt:
        load_weights(target, args.dst_ckpt)
    report = transfer_weights(source, target, args.method, exclude=args.exclude,
                              strict=args.strict, min_coverage=args.min_coverage,
                              min_similarity=args.min_similarity, **dict(args.opt))
    meta = dict(transfer=dict(method=args.method, src=args.src, src_ckpt=args.src_ckpt,
                              dst=args.dst, coverage=report.coverage,
                              element_coverage=report.element_coverage))
    out = save_weights(args.out, target, meta)
    report.to_json(args.report)
    print(report.table(None if args.rows < 0 else args.rows))
    print(report.summary())
    print(f'wrote {out} and {args.report}')
    return report


if __name__ == '__main__':
    run_cli(main)
