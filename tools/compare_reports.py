"""Do a report's verdicts survive a rerun? Put two or more tools/report.py runs side by side:
every won / tied / lost of the headline and the search section in each, whether they agree, and
the per-seed differences pooled over all runs (when their settings are equal and their target
seeds disjoint).

    python tools/report.py --out runs/seed0
    python tools/report.py --out runs/seed5 --seed 5
    python tools/compare_reports.py runs/seed0 runs/seed5 --out runs/verdicts.md

A verdict that flips between runs is a property of the draw (super-network, target images),
not a finding. Runs whose settings differ are compared too, as an A/B of those settings (the
table says which differ; nothing is pooled).
"""
import argparse
from pathlib import Path

from common.checkpoint import atomic_write_text
from common.cli import run_cli
from reproduce.rerun import compare, load, markdown


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('reports', nargs='+', help='report folders (or their report.json), '
                        'at least two')
    parser.add_argument('--out', help='also write the markdown here')
    args = parser.parse_args(argv)
    if len(args.reports) < 2:
        parser.error(f'reports: {len(args.reports)} given; compare at least two')
    text = markdown(compare([load(path) for path in args.reports]))
    print(text, end='')
    if args.out:
        atomic_write_text(Path(args.out), text)


if __name__ == '__main__':
    run_cli(main)
