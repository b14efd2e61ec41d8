"""Export a found subnet: a torchvision / timm state dict, ONNX or TorchScript, and the mmdet /
mmpretrain config that builds it.

    python tools/export_subnet.py work_dirs/subnet_1-3-7-5.pth --format torchvision onnx
    python tools/export_subnet.py work_dirs/supernet/iter_600.pth --allocation 1-3-7-5 \
        --format timm torchscript --out work_dirs/export/r50t

The input is a subnet checkpoint (tools/extract_subnet.py; its meta records the space and the
allocation) or a super-network checkpoint with ``--allocation``. Writes ``OUT.torchvision.pth``,
``OUT.timm.pth``, ``OUT.onnx`` (opset 17, dynamic batch axis), ``OUT.torchscript.pt``, prints the
Python that loads each and the config snippet. Details: docs/search.md, "Exporting a subnet".

Refused in one line (exit 2; ``--debug`` for a traceback), before anything is written: a format
that cannot express the subnet (e.g. torchvision for a small-input demo space, a deep stem, a
MnasNet off torchvision's depths), an allocation a subnet checkpoint does not hold, a
super-network checkpoint without ``--allocation``, an ``--out`` that overwrites the input, a file
that is not a readable checkpoint.
"""
import argparse
import json
import os
from pathlib import Path

from common.cli import allocation_values_as_text, parse_opt, parsed_by, run_cli
from supernet.spaces import parse_allocation

FORMATS = ('torchvision', 'timm', 'onnx', 'torchscript')  # supernet.formats.FORMATS


def main(argv=None):
    parser = argparse.ArgumentParser(description='Export a subnet as a torchvision / timm state '
                                     'dict, ONNX or TorchScript, and print its mmdet / '
                                     'mmpretrain config')
    parser.add_argument('checkpoint', help='subnet checkpoint (tools/extract_subnet.py) or '
                        'super-network checkpoint (then --allocation is required)')
    parser.add_argument('--format', nargs='+', choices=FORMATS + ('all',), default=[],
                        dest='formats', metavar='FORMAT', help='what to write: torchvision, timm, '
                        'onnx, torchscript (several allowed), or all (every one the subnet '
                        'allows, the others named); none given: only the config snippet')
    parser.add_argument('--allocation', action=parsed_by(parse_allocation),
                        help='depth per searched stage, as printed (1-3-7-5) or 1,3,7,5; '
                        "required for a super-network (a subnet checkpoint's meta has it)")
    parser.add_argument('--out', help='output path without suffix (default: next to CHECKPOINT, '
                        'subnet_<allocation>); suffixes .torchvision.pth, .timm.pth, .onnx, '
                        '.torchscript.pt')
    parser.add_argument('--space', help="search space, if the checkpoint's meta lacks it")
    parser.add_argument('--prefix', help="where the backbone's keys start (default: the meta's, "
                        'else detected)')
    parser.add_argument('--no-head', action='store_true', help='leave out the classifier head '
                        '(head.fc) even if the checkpoint holds one')
    parser.add_argument('--backbone-option', action='append', type=parse_opt, default=[],
                        metavar='KEY=VALUE', help='a backbone option the weights were trained '
                        "with, repeatable, as a Python literal: style='caffe', "
                        "norm_cfg={'type': 'GN', 'num_groups': 32}; deep_stem and avg_down are "
                        'read from the weights')
    parser.add_argument('--input-size', type=int, help='image side of the traced and checked '
                        'input (default 224; 32 for small-input spaces); ONNX fixes it, the '
                        'batch axis stays dynamic')
    parser.add_argument('--no-verify', action='store_true', help='skip checking the torchvision '
                        "/ timm model's output against the subnet's")
    parser.add_argument('--debug', action='store_true', help='tracebacks instead of one-line '
                        'errors')
    args = parser.parse_args(allocation_values_as_text(argv, ['--allocation']))
    # checks before reading the weights
    if not os.path.isfile(args.checkpoint):
        raise FileNotFoundError(f'{args.checkpoint}: no such checkpoint file')
    if args.input_size is not None and args.input_size < 8:
        raise ValueError(f'--input-size {args.input_size}: at least 8')
    formats = list(FORMATS) if 'all' in args.formats else list(dict.fromkeys(args.formats))

    from supernet.formats import (
        SUFFIXES,
        ExportRefused,
        check_format,
        config_snippet,
        export_subnet,
        load_subnet,
    )
    subnet = load_subnet(args.checkpoint, args.allocation, space=args.space, prefix=args.prefix,
                         head=not args.no_head, options=dict(args.backbone_option))
    out = args.out or str(Path(args.checkpoint).with_name(f'subnet_{subnet.name}'))
    refused = {}
    for fmt in formats:  # every refusal before anything is written
        try:
            check_format(subnet, fmt)
        except ExportRefused as err:
            if 'all' not in args.formats:
                raise
            refused[fmt] = str(err)
        path = Path(out + SUFFIXES[fmt]).resolve()
        if path == Path(args.checkpoint).resolve():
            raise ValueError(f'--out {out}: {path} is the input checkpoint')
    subnet.model()  # the weights fit the backbone (a one-line error if not)
    head = 'with its classifier head' if subnet.head_state is not None else 'backbone only'
    print(f'subnet {subnet.name} of space {subnet.space.name!r} ({head})')
    for note in subnet.notes:
        print(f'note: {note}')
    written = []
    for fmt in formats:
        if fmt in refused:
            print(f'{fmt}: refused: {refused[fmt]}')
            continue
        result = export_subnet(subnet, fmt, out + SUFFIXES[fmt], input_size=args.input_size,
                               verify=not args.no_verify)
        written.append(result)
        print(f'wrote {result["path"]}\n    {result["load"]}')
    tv = next((r['path'] for r in written if r['format'] == 'torchvision'
               and subnet.space.family == 'resnet'), None)
    print('config (mmdet / mmpretrain):')
    print(config_snippet(subnet, tv, '' if tv else None))
    print(json.dumps({'allocation': list(subnet.allocation), 'space': subnet.space.name,
                      'files': {r['format']: r['path'] for r in written}, 'refused': refused}))
    return written


if __name__ == '__main__':
    run_cli(main)
