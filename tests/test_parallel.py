"""The report's second process (reproduce.parallel.Beside): where jobs run, what comes back,
and that a stopped report does not leave it running."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reproduce.parallel import Beside

ROOT = Path(__file__).resolve().parents[1]


def test_jobs_run_in_a_second_process_with_their_output_in_the_log(tmp_path):
    log = tmp_path / 'second.log'
    with Beside(2, log=log) as beside:
        assert beside.parallel
        beside.submit('pid', os.getpid)
        beside.submit('print', print, 'hello from the second process')
        pid, seconds = beside.result('pid')
        assert pid != os.getpid() and seconds >= 0
        assert beside.result('print')[0] is None
        assert 'pid' not in beside  # taken
    assert 'hello from the second process' in log.read_text()


def test_one_process_runs_each_job_here_when_asked(tmp_path):
    beside = Beside(1)
    assert not beside.parallel
    beside.submit('slow', time.sleep, 0.3)
    start = time.perf_counter()
    beside.submit('pid', os.getpid)
    assert time.perf_counter() - start < 0.2  # submitting ran nothing
    assert beside.result('pid')[0] == os.getpid()
    assert beside.result('slow')[1] >= 0.3


@pytest.mark.parametrize('processes', [1, 2])
def test_a_jobs_error_is_raised_where_its_result_is_asked(tmp_path, processes):
    with Beside(processes, log=tmp_path / 'log') as beside:
        beside.submit('bad', int, 'not a number')
        with pytest.raises(ValueError, match='not a number'):
            beside.result('bad')


def test_leaving_by_an_error_stops_a_running_job(tmp_path):
    """In a fresh interpreter, timed to its exit: a job left running would hold it 900 s."""
    script = f"""
import time
from reproduce.parallel import Beside
try:
    with Beside(2, log={str(tmp_path / 'log')!r}) as beside:
        beside.submit('long', time.sleep, 900)
        beside.submit('next', time.sleep, 900)
        time.sleep(3)  # the first job has started
        raise KeyboardInterrupt  # the report stopped while it runs
except KeyboardInterrupt:
    print('stopped')
"""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                            cwd=ROOT, timeout=600, env={**os.environ, 'PYTHONPATH': str(ROOT)})
    assert result.returncode == 0 and 'stopped' in result.stdout, result.stderr[-2000:]
    assert time.perf_counter() - start < 300  # ~10 s on an idle machine


def test_the_second_process_ends_with_a_killed_main_one(tmp_path):
    """SIGKILL runs no cleanup in the main process: the second one notices on its own."""
    script = f"""
import os, time
from reproduce.parallel import Beside
beside = Beside(2, log={str(tmp_path / 'log')!r})
beside.submit('pid', os.getpid)
print(beside.result('pid')[0], flush=True)
beside.submit('long', time.sleep, 120)
time.sleep(120)
"""
    main = subprocess.Popen([sys.executable, '-c', script], stdout=subprocess.PIPE, text=True,
                            cwd=ROOT, env={**os.environ, 'PYTHONPATH': str(ROOT)})
    second = int(main.stdout.readline())
    time.sleep(1)
    assert alive(second)
    main.kill()
    main.wait()
    deadline = time.perf_counter() + 30
    while alive(second) and time.perf_counter() < deadline:
        time.sleep(0.2)
    assert not alive(second)


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting to be reaped)."""
    try:
        return Path(f'/proc/{pid}/stat').read_text().split(')')[-1].split()[0] != 'Z'
    except FileNotFoundError:
        return False


def test_bad_use_is_refused(tmp_path):
    with pytest.raises(ValueError, match='processes=3'):
        Beside(3)
    beside = Beside(1)
    beside.submit('a', os.getpid)
    with pytest.raises(KeyError, match="'a' was already submitted"):
        beside.submit('a', os.getpid)
