"""Seconds and coverage of HMT / DPIAT / TLI over every ordered pair of a set of timm models.

    python benchmarks/transfer_speed.py                      # 12 models, 132 pairs, 3 methods
    python benchmarks/transfer_speed.py --models resnet18 resnet34 --methods dpiat hmt:align=stretch

Goal: median <= 1 s per pair on CPU, and >= 90% of target tensors covered for pairs of the
same family. Last, ``rank_sources`` ranks a pool of 20 models (the 12 plus ``EXTRA_POOL``) for
one target, timed cold (fingerprints built) and warm (cached). Each transfer is timed cold:
the DPIAT block cache is cleared first and the networks' units and graphs are rebuilt by
``transfer_weights``; building the timm models (``pretrained=False``) is not timed.
"""
import argparse
import ast
import statistics
import time
import warnings

import timm

from transfer import METHODS, rank_sources, transfer_weights
from transfer.dpiat import _align_blocks

FAMILIES = {
    'resnet18': 'resnet', 'resnet34': 'resnet', 'resnet50': 'resnet',
    'efficientnet_b0': 'efficientnet', 'efficientnet_b1': 'efficientnet',
    'efficientnet_b2': 'efficientnet', 'mixnet_s': 'mixnet', 'mixnet_m': 'mixnet',
    'rexnet_100': 'rexnet', 'mnasnet_100': 'mnasnet', 'semnasnet_100': 'mnasnet',
    'mobilenetv2_100': 'mobilenetv2',
}

EXTRA_POOL = ['resnet26', 'resnet101', 'efficientnet_b3', 'mixnet_l', 'rexnet_150',
              'mobilenetv3_large_100', 'regnetx_016', 'densenet121']


def parse_method(spec: str) -> tuple:
    """``'tli'`` or ``'hmt:align=stretch,...'`` -> (spec, method, options)."""
    method, _, options = spec.partition(':')
    if method not in METHODS:
        raise SystemExit(f'--methods {spec!r}: method must be one of {sorted(METHODS)}')
    opts = {}
    for item in filter(None, options.split(',')):
        key, _, value = item.partition('=')
        try:
            opts[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            opts[key] = value
    return spec, method, opts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--models', nargs='+', default=list(FAMILIES))
    parser.add_argument('--methods', nargs='+', type=parse_method,
                        default=[parse_method(m)
                                 for m in ('dpiat', 'hmt', 'hmt:align=stretch', 'tli')],
                        help='method[:key=value,...], e.g. tli:top_k=3')
    args = parser.parse_args()
    specs = [spec for spec, _, _ in args.methods]

    models = {name: timm.create_model(name, pretrained=False) for name in args.models}
    pairs = [(a, b) for a in args.models for b in args.models if a != b]
    print(f'{len(args.models)} models, {len(pairs)} ordered pairs, methods {specs}')
    results = {}  # (method spec, src, dst) -> (seconds, coverage)
    for spec, method, opts in args.methods:
        for src, dst in pairs:
            _align_blocks.cache_clear()
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                start = time.perf_counter()
                report = transfer_weights(models[src], models[dst], method, **opts)
                seconds = time.perf_counter() - start
            results[spec, src, dst] = (seconds, report.coverage)

    short = {name: name.replace('efficientnet_', 'effnet_').replace('_100', '')
             for name in args.models}
    width = max(len(s) for s in short.values())
    for method in specs:
        print(f'\n{method}: coverage of target tensors (%), rows source, columns target')
        print(' ' * width + ''.join(f'{short[b][:7]:>8}' for b in args.models))
        for a in args.models:
            cells = ['       -' if a == b else f'{100 * results[method, a, b][1]:8.0f}'
                     for b in args.models]
            print(f'{short[a]:<{width}}' + ''.join(cells))

    print(f'\n{"method":<18}{"median s":>10}{"max s":>8}{"pairs > 1 s":>12}{"coverage":>10}'
          f'{"same-family cov. (min)":>25}{"same-family >= 90%":>20}')
    for method in specs:
        seconds = [results[method, a, b][0] for a, b in pairs]
        covers = [results[method, a, b][1] for a, b in pairs]
        same = [results[method, a, b][1] for a, b in pairs
                if FAMILIES.get(a, a) == FAMILIES.get(b, b)]
        same_text = (f'{statistics.mean(same):.1%} ({min(same):.1%})' if same else 'n/a')
        ok = f'{sum(c >= 0.9 for c in same)}/{len(same)}' if same else 'n/a'
        print(f'{method:<18}{statistics.median(seconds):>10.3f}{max(seconds):>8.2f}'
              f'{sum(s > 1 for s in seconds):>12}{statistics.mean(covers):>10.1%}'
              f'{same_text:>25}{ok:>20}')
    print('goal: median <= 1 s per pair; >= 90% of target tensors covered for same-family pairs')

    pool = dict(models, **{n: timm.create_model(n, pretrained=False) for n in EXTRA_POOL})
    target = timm.create_model('efficientnet_b0', pretrained=False)
    for label in ('cold', 'warm'):
        if label == 'cold':
            _align_blocks.cache_clear()
        start = time.perf_counter()
        ranking = rank_sources(target, pool)
        print(f'rank_sources, {len(pool)} models for a new efficientnet_b0, {label}: '
              f'{time.perf_counter() - start:.2f} s')
    print('  top 5: ' + ', '.join(f'{name} {score:.2f}' for name, score in ranking[:5]))


if __name__ == '__main__':
    main()
