"""scripts/setup.sh, scripts/build_mmcv.sh and the launch scripts, run against stand-ins: a stub
`python` (its torch reports CUDA 13.0; `pip wheel` records the build's environment and writes an
empty wheel), a stub `nvidia-smi`, a stub CUDA toolkit, and a PATH of plain system tools without
ninja. No compiler runs, nothing is downloaded."""
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / 'scripts/build_mmcv.sh'
SYSTEM_TOOLS = ('bash', 'env', 'sed', 'ls', 'mkdir', 'dirname', 'readlink', 'nproc', 'mktemp',
                'rm', 'mv', 'basename', 'head', 'cat', 'grep', 'chmod', 'tail', 'cut', 'tr',
                'sort', 'paste', 'ln', 'sha256sum', 'id', 'printf')

STUB_PYTHON = r'''#!/bin/bash
# A venv's python whose torch is a CUDA 13.0 build and sees no GPU.
echo "$*" >> "$STUB_DIR/python.calls"
case $1 in
  -c)
    case $2 in
      *torch.version.cuda*) echo "${STUB_TORCH_CUDA:-13.0}" ;;
      *is_available*) exit 1 ;;
      *get_device_capability*) [[ -n ${STUB_TORCH_CAPS:-} ]] && printf '%s\n' $STUB_TORCH_CAPS ;;
      *'sys.version_info'*) echo cp311 ;;
      *dirname*torch.__file__*) echo "$STUB_DIR/site" ;;
      *) exit 1 ;;  # "is everything installed?": no
    esac ;;
  -m)
    if [[ $2 == pip && $3 == wheel ]]; then
      {
        echo "ninja=$(command -v ninja || echo none)"
        echo "CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES-unset}"
        echo "FORCE_CUDA=${FORCE_CUDA-unset}"
        echo "TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST-unset}"
        echo "PYTORCH_NVCC=${PYTORCH_NVCC-unset}"
      } > "$STUB_DIR/build.env"
      while [[ $# -gt 0 && $1 != -w ]]; do shift; done
      "$REAL_PYTHON" -c 'import sys, zipfile
with zipfile.ZipFile(sys.argv[1] + "/mmcv-2.1.0-cp311-cp311-linux_x86_64.whl", "w") as z:
    z.writestr("mmcv/__init__.py", "")
    z.writestr("mmcv-2.1.0.dist-info/RECORD", "mmcv/__init__.py,,\nmmcv-2.1.0.dist-info/RECORD,,\n")
' "$2"
    fi ;;  # pip install, venv: nothing to do
  -)
    script=$(cat)
    [[ $script == *zipfile* ]] || exit 0  # setup's final import check
    exec "$REAL_PYTHON" - "${@:2}" <<< "$script" ;;
esac
'''

STUB_NVIDIA_SMI = r'''#!/bin/bash
# GPUs of the compute capabilities in $STUB_CAPS; STUB_OLD_DRIVER: no compute_cap field
if [[ $1 == -L ]]; then
  i=0; for c in $STUB_CAPS; do echo "GPU $i: Stub GPU (UUID: GPU-$i)"; i=$((i+1)); done
  exit 0
fi
if [[ $1 == --query-gpu=compute_cap ]]; then
  if [[ -n ${STUB_OLD_DRIVER:-} ]]; then
    echo 'Field "compute_cap" is not a valid field to query.'; exit 2
  fi
  printf '%s\n' $STUB_CAPS
fi
'''


def executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.fixture
def stubs(tmp_path):
    """A venv (stub python, and ninja unless removed), PATH of system tools without ninja, nvcc or
    nvidia-smi, a CUDA 13.0 toolkit stand-in, and `gpus/` holding a stub nvidia-smi."""
    system = tmp_path / 'system'
    system.mkdir()
    for tool in SYSTEM_TOOLS:
        found = shutil.which(tool)
        if found:
            (system / tool).symlink_to(found)
    venv = tmp_path / 'venv'
    executable(venv / 'bin/python', STUB_PYTHON)
    executable(venv / 'bin/ninja', '#!/bin/bash\necho 1.11.1\n')
    cuda = tmp_path / 'cuda'
    (cuda / 'include').mkdir(parents=True)
    (cuda / 'include/cuda_runtime.h').write_text('')
    (cuda / 'lib').mkdir()
    executable(cuda / 'bin/nvcc',
               '#!/bin/bash\necho "Cuda compilation tools, release 13.0, V13.0.88"\n')
    executable(tmp_path / 'gpus/nvidia-smi', STUB_NVIDIA_SMI)
    env = {'PATH': str(system), 'HOME': str(tmp_path), 'STUB_DIR': str(tmp_path),
           'REAL_PYTHON': sys.executable, 'CUDA_HOME': str(cuda), 'MAX_JOBS': '1'}
    return tmp_path, env


def run(cmd, env, **kwargs):
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, **kwargs)


def build(tmp, env, *, tag=False):
    python = str(tmp / 'venv/bin/python')
    args = ['--tag', python] if tag else [python, str(tmp / 'cache')]
    return run(['bash', str(BUILD), *args], env)


def build_env(tmp) -> dict:
    return dict(line.split('=', 1) for line in (tmp / 'build.env').read_text().splitlines())


def with_gpus(env, tmp, caps, **extra):
    return {**env, 'PATH': f'{tmp / "gpus"}:{env["PATH"]}', 'STUB_CAPS': caps, **extra}


# ------------------------------------------------------------------ ninja for the CUDA build
def test_the_cuda_build_finds_the_venvs_ninja_though_path_has_none(stubs):
    tmp, env = stubs
    result = build(tmp, {**env, 'ARCHTRANSFER_CUDA': '1'})
    assert result.returncode == 0, result.stderr
    recorded = build_env(tmp)
    # ninja found: torch writes a ninja file, which is what reads PYTORCH_NVCC
    assert recorded['ninja'] == str(tmp / 'venv/bin/ninja')
    assert recorded['PYTORCH_NVCC'].endswith('/bin/nvcc-cxx20')


def test_the_cuda_build_without_ninja_stops_in_one_line_a_cpu_build_goes_on(stubs):
    tmp, env = stubs
    (tmp / 'venv/bin/ninja').unlink()
    result = build(tmp, {**env, 'ARCHTRANSFER_CUDA': '1'})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith('no ninja on PATH')
    assert not (tmp / 'build.env').exists()  # stopped before the build
    result = build(tmp, env)  # CPU ops: no nvcc, no ninja needed
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith('/cache/cpu/mmcv-2.1.0-cp311-cp311-linux_x86_64.whl')


# ------------------------------------------------------------------ architectures
def test_the_visible_gpus_architectures_are_built_the_highest_with_ptx(stubs):
    tmp, env = stubs
    gpu_env = with_gpus(env, tmp, '8.6 7.5 8.6')
    assert build(tmp, gpu_env, tag=True).stdout.strip() == 'cuda13.0-sm75_86ptx'
    overridden = {**gpu_env, 'TORCH_CUDA_ARCH_LIST': '8.0;9.0'}  # the user's list wins
    assert build(tmp, overridden, tag=True).stdout.strip() == 'cuda13.0-sm80_90'
    result = build(tmp, gpu_env)
    assert result.returncode == 0, result.stderr
    assert build_env(tmp)['TORCH_CUDA_ARCH_LIST'] == '7.5;8.6+PTX'
    wheel = Path(result.stdout.strip().splitlines()[-1])
    assert wheel.parent.name == 'cuda13.0-sm75_86ptx'  # the cache key follows the list
    with zipfile.ZipFile(wheel) as z:
        info = json.loads(z.read('mmcv-2.1.0.dist-info/archtransfer_build.json'))
        record = z.read('mmcv-2.1.0.dist-info/RECORD').decode()
    assert info == dict(tag='cuda13.0-sm75_86ptx', cuda='13.0', arch_list=['7.5', '8.6+PTX'])
    assert 'mmcv-2.1.0.dist-info/archtransfer_build.json,sha256=' in record


def test_a_wheel_cached_without_the_record_gets_it_on_reuse(stubs):
    tmp, env = stubs
    cached = tmp / 'cache/cuda13.0-sm80_90/mmcv-2.1.0-cp311-cp311-linux_x86_64.whl'
    cached.parent.mkdir(parents=True)
    with zipfile.ZipFile(cached, 'w') as z:
        z.writestr('mmcv-2.1.0.dist-info/RECORD', 'mmcv-2.1.0.dist-info/RECORD,,\n')
    result = build(tmp, {**env, 'ARCHTRANSFER_CUDA': '1', 'TORCH_CUDA_ARCH_LIST': '8.0;9.0'})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(cached) and not (tmp / 'build.env').exists()  # no build
    with zipfile.ZipFile(cached) as z:
        info = json.loads(z.read('mmcv-2.1.0.dist-info/archtransfer_build.json'))
    assert info['arch_list'] == ['8.0', '9.0']


def test_an_old_driver_without_compute_cap_falls_back_to_torchs_capabilities(stubs):
    tmp, env = stubs
    gpu_env = with_gpus(env, tmp, '12.0', STUB_OLD_DRIVER='1', STUB_TORCH_CAPS='12.0 9.0')
    assert build(tmp, gpu_env, tag=True).stdout.strip() == 'cuda13.0-sm90_120ptx'


def test_without_a_visible_gpu_the_default_list_ends_in_ptx(stubs):
    tmp, env = stubs
    result = build(tmp, {**env, 'ARCHTRANSFER_CUDA': '1'}, tag=True)
    assert result.stdout.strip() == 'cuda13.0-sm75_80_86_90_100_120ptx'
    assert build(tmp, env, tag=True).stdout.strip() == 'cpu'  # auto, no GPU: CPU ops


# ------------------------------------------------------------------ CPU ops on a GPU node
def test_cpu_ops_on_a_gpu_node_hide_the_gpus_from_the_build(stubs):
    """mmcv 2.1.0's setup.py compiles CUDA ops when `torch.cuda.is_available() or
    FORCE_CUDA == '1'`: FORCE_CUDA=0 alone does not stop it, hiding the GPUs does."""
    tmp, env = stubs
    gpu_env = with_gpus(env, tmp, '9.0', ARCHTRANSFER_CUDA='0')
    assert build(tmp, gpu_env, tag=True).stdout.strip() == 'cpu'
    assert build(tmp, gpu_env).returncode == 0
    recorded = build_env(tmp)
    assert recorded['CUDA_VISIBLE_DEVICES'] == '' and recorded['FORCE_CUDA'] == '0'


# ------------------------------------------------------------------ another torch build
def local_cuda_release() -> str:
    nvcc = Path('/usr/local/cuda/bin/nvcc')
    if not (nvcc.exists() and Path('/usr/local/cuda/include/cuda_runtime.h').exists()):
        return ''
    return subprocess.run([nvcc, '--version'], capture_output=True, text=True).stdout


@pytest.mark.skipif('release 12.' in local_cuda_release(),
                    reason="the script would take this machine's CUDA 12 toolkit")
def test_a_cuda_12_torch_without_a_toolkit_is_told_to_install_one(stubs):
    """PyPI's nvcc is laid out as one toolkit folder (nvidia/cu13) from CUDA 13 on only."""
    tmp, env = stubs
    env = {k: v for k, v in env.items() if k != 'CUDA_HOME'}
    result = build(tmp, {**env, 'ARCHTRANSFER_CUDA': '1', 'STUB_TORCH_CUDA': '12.6'})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].endswith(
        'install a CUDA 12 toolkit and set CUDA_HOME')


# ------------------------------------------------------------------ setup.sh
FASHION = Path('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz')


@pytest.mark.skipif(not FASHION.exists(), reason='setup.sh would install the demo data (apt-get)')
def test_setup_builds_with_the_venvs_ninja_and_takes_torch_from_torch_index_url(stubs):
    tmp, env = stubs
    url = 'https://download.pytorch.org/whl/cu126'
    result = run(['bash', str(ROOT / 'scripts/setup.sh')],
                 {**env, 'ARCHTRANSFER_VENV': str(tmp / 'venv'),
                  'ARCHTRANSFER_CACHE': str(tmp / 'cache'), 'ARCHTRANSFER_CUDA': '1',
                  'TORCH_INDEX_URL': url})
    assert result.returncode == 0, result.stdout + result.stderr
    assert build_env(tmp)['ninja'] == str(tmp / 'venv/bin/ninja')
    installs = [line for line in (tmp / 'python.calls').read_text().splitlines()
                if ' install ' in line]
    torch_install = next(line for line in installs if 'torch==' in line)
    assert f'--index-url {url} torch==2.14.1 torchvision==0.29.1' in torch_install
    assert all('--index-url' not in line for line in installs if line != torch_install)


# ------------------------------------------------------------------ launch scripts
@pytest.fixture
def checkout(tmp_path):
    """tools/*.sh in a checkout with a venv; `python` on PATH and the venv's record who ran."""
    (tmp_path / 'tools').mkdir()
    for name in ('dist_train.sh', 'slurm_train.sh'):
        shutil.copy(ROOT / 'tools' / name, tmp_path / 'tools' / name)
    record = '#!/bin/bash\necho "{who} $*" >> "{log}"\n'
    log = tmp_path / 'ran'
    executable(tmp_path / '.venv/bin/python', record.format(who='venv', log=log))
    executable(tmp_path / 'bin/python', record.format(who='path', log=log))
    executable(tmp_path / 'other/python', record.format(who='other', log=log))
    executable(tmp_path / 'bin/srun', '#!/bin/bash\n'  # runs the task's command
               'while [[ $1 != --kill-on-bad-exit=1 ]]; do shift; done; shift; exec "$@"\n')
    env = {**os.environ, 'PATH': f'{tmp_path / "bin"}:{os.environ["PATH"]}'}
    for key in ('PYTHON', 'ARCHTRANSFER_VENV'):
        env.pop(key, None)
    return tmp_path, env, log


@pytest.mark.parametrize('script, args', [
    ('dist_train.sh', ['cfg.py', '2']),
    ('slurm_train.sh', ['gpu', 'job', 'cfg.py', 'work_dirs/x']),
])
def test_launch_scripts_run_the_venvs_python_unless_python_is_set(checkout, script, args):
    tmp, env, log = checkout
    cmd = ['bash', str(tmp / 'tools' / script), *args]
    assert run(cmd, env).returncode == 0
    assert run(cmd, {**env, 'PYTHON': str(tmp / 'other/python')}).returncode == 0
    shutil.rmtree(tmp / '.venv')
    assert run(cmd, env).returncode == 0
    ran = log.read_text().splitlines()
    assert [line.split()[0] for line in ran] == ['venv', 'other', 'path']
    flag = '-m torch.distributed.run' if script == 'dist_train.sh' else '-u'
    assert all(line.split(' ', 1)[1].startswith(flag) for line in ran)
