"""tools/demo.py: the whole chain in one command (slow: minutes on 2 CPU cores)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = [sys.executable, str(ROOT / 'tools/demo.py')]


def test_demo_refuses_to_reuse_a_work_dir_without_resume(tmp_path):
    (tmp_path / 'supernet').mkdir()
    result = subprocess.run(DEMO + ['--work-dir', str(tmp_path)], capture_output=True,
                            text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 2
    assert f'{tmp_path} holds an earlier demo run: pass --resume' in result.stderr
    assert result.stderr.count('\n') <= 3 and 'Traceback' not in result.stderr


@pytest.mark.slow
def test_demo_runs_the_whole_chain_and_resumes(tmp_path):
    work, data = tmp_path / 'demo', tmp_path / 'data'
    args = DEMO + ['--work-dir', str(work), '--data-root', str(data)]
    first = subprocess.run(args, capture_output=True, text=True, timeout=3600, cwd=ROOT)
    assert first.returncode == 0, first.stderr[-3000:]
    summary = json.loads((work / 'demo.json').read_text())
    assert sum(summary['allocation']) == 16 and summary['chain'][-1] == summary['allocation']
    assert 10 < summary['test_top1'] <= 100  # better than chance on 10 digits
    assert f'test top-1 {summary["test_top1"]:.2f}%' in first.stdout
    # paper Sec. 3.4: the subnet was fine-tuned on the source, and the target fine-tune started
    # from that (the step's own test: tests/test_source_step.py)
    assert summary['source_step'] and 10 < summary['source_top1'] <= 100
    assert Path(summary['source_checkpoint']).is_file()
    assert Path(summary['source_checkpoint']).parent == work / 'subnet_source'
    assert '5/6 fine-tune the subnet on Fashion-MNIST' in first.stdout
    again = subprocess.run(args + ['--resume'], capture_output=True, text=True, timeout=600,
                           cwd=ROOT)  # every step done: nothing is trained again
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads((work / 'demo.json').read_text())['test_top1'] == summary['test_top1']
