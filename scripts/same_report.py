"""Does a change leave the report's numbers as they were? Run the reduced report at a base
revision and at the working tree, and compare the two ``report.json`` files value by value.

    python scripts/same_report.py                 # base: HEAD; the working tree against it
    python scripts/same_report.py --base main~3 --seed 3
    python scripts/same_report.py --compare A/report.json B/report.json   # no runs

For refactors that must not change behaviour. Paths and timings are left out (they change from
run to run); everything else — every score, seed, allocation, setting and verdict — must be equal
to the bit. Keys renamed since the base are compared under their new name
(:data:`reproduce.rerun.RENAMED_SETTINGS`). Exit status 1 when anything differs, with the first
differences listed.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reproduce.rerun import RENAMED_SETTINGS  # noqa: E402  (the clone's own package first)

TIMING_WORDS = ('seconds', 'minutes', 'wall', 'time', 'duration', 'elapsed', 'started',
                'finished', 'date')


def is_timing(key: str) -> bool:
    return key.endswith('_s') or any(word in key for word in TIMING_WORDS)


def is_path(value) -> bool:
    return isinstance(value, str) and ('/' in value or value.endswith(('.pth', '.json', '.png')))


def differences(a, b, where: str = '') -> list:
    """Every place where ``a`` and ``b`` differ, as ``'where: a != b'`` lines."""
    if isinstance(a, dict) and isinstance(b, dict):
        a, b = ({RENAMED_SETTINGS.get(k, k): v for k, v in d.items()} for d in (a, b))
        out = []
        for key in sorted(set(a) | set(b), key=str):
            if is_timing(str(key)):
                continue
            if key not in a or key not in b:
                out.append(f'{where}/{key}: only in {"after" if key in b else "before"}')
            else:
                out.extend(differences(a[key], b[key], f'{where}/{key}'))
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f'{where}: {len(a)} items != {len(b)}']
        return [line for i, (x, y) in enumerate(zip(a, b))
                for line in differences(x, y, f'{where}[{i}]')]
    if is_path(a) and is_path(b):
        return []
    return [] if a == b else [f'{where}: {a!r} != {b!r}']


def run_report(checkout: Path, out: Path, seed: int):
    env = dict(os.environ, PYTHONPATH=str(checkout))  # that checkout's packages, not this one's
    subprocess.run([sys.executable, str(checkout / 'tools/report.py'), '--reduced', '--seed',
                    str(seed), '--out', str(out)], cwd=checkout, env=env, check=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--base', default='HEAD', help='git revision to compare against')
    parser.add_argument('--seed', type=int, default=3, help="the report's --seed")
    parser.add_argument('--compare', nargs=2, metavar='REPORT_JSON',
                        help='compare two existing report.json files instead of running')
    args = parser.parse_args(argv)
    if args.compare:
        before, after = (json.loads(Path(p).read_text()) for p in args.compare)
    else:
        with tempfile.TemporaryDirectory(prefix='same_report_') as tmp:
            tmp = Path(tmp)
            base = tmp / 'base'
            subprocess.run(['git', 'worktree', 'add', '--detach', str(base), args.base],
                           cwd=ROOT, check=True, capture_output=True)
            try:
                run_report(base, tmp / 'before', args.seed)
                run_report(ROOT, tmp / 'after', args.seed)
            finally:
                subprocess.run(['git', 'worktree', 'remove', '--force', str(base)], cwd=ROOT)
            before, after = (json.loads((tmp / name / 'report.json').read_text())
                             for name in ('before', 'after'))
    found = differences(before, after)
    for line in found[:40]:
        print(line)
    print(f'{len(found)} differences' if found else 'same report (paths and timings aside)')
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main())
