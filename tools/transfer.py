"""Initialize a network from a trained one of another architecture (HMT / DPIAT / TLI).

    python tools/transfer.py timm:resnet18 timm:resnet34 --src-ckpt r18.pth --out r34_init.pth
    python tools/transfer.py src_cfg.py dst_cfg.py --src-ckpt src.pth --method tli \\
        --opt lam=0.5 --exclude 'head.*' --out work_dirs/dst_init.pth

SRC and DST are ``timm:<name>`` or an mmengine config whose ``model`` dict builds the network
(``import supernet`` is done for you, so ``AllocatedResNet`` etc. resolve). Writes the
initialized checkpoint (``{'state_dict', 'meta'}``, or ``.safetensors``) and the transfer report
as JSON next to it (``--report`` to choose), and prints the report.
"""
import _unshadow  # noqa: F401  (first: makes `transfer` the package, see its doc)
import argparse
import ast
import sys

from transfer import METHODS, transfer_weights
from transfer.checkpoint import build_model, load_weights, save_checkpoint


def parse_opt(text: str):
    key, sep, value = text.partition('=')
    if not sep:
        raise argparse.ArgumentTypeError(f'--opt {text!r}: expected key=value')
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


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
    return parser.parse_args(argv)


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
    out = save_checkpoint(args.out, target, meta)
    report_path = args.report or str(out.with_suffix('')) + '.transfer.json'
    report.to_json(report_path)
    print(report.table(None if args.rows < 0 else args.rows))
    print(report.summary())
    print(f'wrote {out} and {report_path}')
    return report


if __name__ == '__main__':
    main()
