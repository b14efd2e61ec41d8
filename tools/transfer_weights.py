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
or the same file as each other. Refused in one line (exit 2; ``--debug`` for a traceback), nothing
written: a ``--src-ckpt`` / ``--dst-ckpt`` that is no checkpoint or does not fit its network (the
file and the keys or shapes that differ), and a transfer that covers less than ``--min-coverage``
of DST's tensors (default :data:`DEFAULT_MIN_COVERAGE`: a quarter; below it DST would be mostly
its random init, and the pair is more likely a mistake than a transfer; ``--min-coverage 0``
writes it anyway).
"""
import argparse
import importlib
import sys
import warnings
from pathlib import Path

import torch.nn as nn

from common.checkpoint import atomic_save, atomic_write, read_state_dict
from common.cli import parse_opt, run_cli
from transfer import METHODS, transfer_weights
from transfer.core import IncompleteTransferError

# Same-family pairs cover 68-100% of the target's tensors with DPIAT and TLI, 33-62% with HMT
# (timm ResNet-18/34/50, MobileNetV2, EfficientNet-B0, MixNet-S); ResNet-18 -> ViT-Tiny 2%.
DEFAULT_MIN_COVERAGE = 0.25


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='timm:<name> or a config file of the trained network')
    parser.add_argument('dst', help='timm:<name> or a config file of the network to initialize')
    parser.add_argument('--src-ckpt', help='weights of SRC (.pth / .safetensors)')
    parser.add_argument('--dst-ckpt', help='starting weights of DST (default: its own init)')
    parser.add_argument('--method', default='dpiat', choices=sorted(METHODS),
                        help='transfer method: dpiat (default; DP matching of standardized '
                        'blocks), hmt (along the longest chain), tli (score-weighted matching, '
                        'options lam, top_k, ...); docs/transfer.md')
    parser.add_argument('--out', required=True, help='output checkpoint (.pth or .safetensors)')
    parser.add_argument('--report', help='report JSON (default: OUT with .transfer.json)')
    parser.add_argument('--opt', action='append', type=parse_opt, default=[],
                        help='method option key=value (repeatable), e.g. lam=0.5, align=stretch')
    parser.add_argument('--exclude', action='append', default=[],
                        help='glob of DST tensors to leave alone (repeatable), e.g. "fc.*"')
    parser.add_argument('--strict', action='store_true', help='fail if any tensor is untouched')
    parser.add_argument('--min-coverage', type=float, default=DEFAULT_MIN_COVERAGE,
                        help='refuse (exit 2, nothing written) a transfer that covers less than '
                        "this fraction of DST's tensors (default %(default)s; 0 writes any)")
    parser.add_argument('--min-similarity', type=float, help='refuse a less similar source')
    parser.add_argument('--num-classes', type=int, help='classes of timm models (both sides)')
    parser.add_argument('--rows', type=int, default=40, help='table rows to print (-1: all)')
    parser.add_argument('--debug', action='store_true', help='tracebacks instead of one-line '
                        'errors')
    args = parser.parse_args(argv)
    if not 0 <= args.min_coverage <= 1:
        parser.error(f'--min-coverage {args.min_coverage}: allowed 0..1')
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


def _few(items, n=5) -> str:
    return f'{list(items)[:n]}{"..." if len(items) > n else ""}'


def load_weights(model: nn.Module, path, flag: str = '--src-ckpt') -> nn.Module:
    """Load ``path`` into ``model`` whole; a file that is not a checkpoint, or whose keys or
    shapes differ from the model's, is a ``ValueError`` naming ``flag``, the file and the
    first tensors that differ."""
    try:
        state = read_state_dict(path)
    except Exception as err:  # safetensors' SafetensorError is no ValueError
        if isinstance(err, (FileNotFoundError, ValueError)):
            raise
        raise ValueError(f'{flag} {path}: not a readable checkpoint '
                         f'({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ""})'
                         ) from None
    own = model.state_dict()
    name = type(model).__name__
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        raise ValueError(f'{flag} {path} does not fit {name}: missing {_few(missing)}, '
                         f'unexpected {_few(unexpected)}')
    differ = [k for k, v in state.items() if tuple(v.shape) != tuple(own[k].shape)]
    if differ:
        shapes = '; '.join(f'{k} {tuple(state[k].shape)} in the file, {tuple(own[k].shape)} in '
                           f'{name}' for k in differ[:3])
        hint = (' (another --num-classes?)' if any(k.split('.')[0] in ('fc', 'head', 'classifier')
                                                   for k in differ) else '')
        raise ValueError(f'{flag} {path} does not fit {name}: {len(differ)} tensors differ in '
                         f'shape: {shapes}{"; ..." if len(differ) > 3 else ""}{hint}')
    model.load_state_dict(state)
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
        load_weights(source, args.src_ckpt, '--src-ckpt')
    if args.dst_ckpt:
        load_weights(target, args.dst_ckpt, '--dst-ckpt')
    if not args.src_ckpt:
        print(f'warning: no --src-ckpt, transferring the untrained weights of {args.src}',
              file=sys.stderr)
    # the transfer's warnings (nothing fits, a refused source) are said once: in the refusal, or
    # after a transfer that is written
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        try:
            report = transfer_weights(source, target, args.method, exclude=args.exclude,
                                      strict=args.strict, min_coverage=args.min_coverage or None,
                                      min_similarity=args.min_similarity, **dict(args.opt))
        except IncompleteTransferError as err:
            raise ValueError(_refusal(err.report, args)) from None
    for warning in caught:
        print(f'warning: {warning.message}', file=sys.stderr)
    meta = dict(transfer=dict(method=args.method, src=args.src, src_ckpt=args.src_ckpt,
                              dst=args.dst, coverage=report.coverage,
                              element_coverage=report.element_coverage))
    out = save_weights(args.out, target, meta)
    report.to_json(args.report)
    print(report.table(None if args.rows < 0 else args.rows))
    print(report.summary())
    print(f'wrote {out} and {args.report}')
    return report


def _refusal(report, args) -> str:
    """One line: why a transfer was refused (--min-similarity, --strict, --min-coverage)."""
    missing = report.untouched + report.skipped
    refused = [note for note in report.notes if note.startswith('refused: ')]
    if refused:  # nothing was transferred
        why = refused[0][len('refused: '):].split(';')[0].replace('min_similarity',
                                                                   '--min-similarity')
        way = 'a lower --min-similarity'
    elif args.strict and missing:
        why = f'{len(missing)} of its {report.num_tensors} tensors not transferred (--strict)'
        way = 'no --strict'
    else:
        why = (f'coverage {report.coverage:.1%} ({report.num_transferred} of its '
               f'{report.num_tensors} tensors) is below --min-coverage {args.min_coverage:g}')
        way = '--min-coverage 0'
    return (f'{args.method}: {args.src} -> {args.dst}: {why}; not transferred: '
            f'{_few(missing, 3)}; nothing written (another --method or SRC may fit better; to '
            f'write it anyway: {way})')


if __name__ == '__main__':
    run_cli(main)
