"""GPU smoke test: the project's GPU path on one CUDA device in a few minutes, on synthetic data
(and on two, where two are present).

    bash scripts/gpu_smoke.sh                    # one GPU, ≤ 5 min; writes gpu_smoke.json
    bash scripts/gpu_smoke.sh --out OUT.json     # elsewhere
    bash scripts/gpu_smoke.sh --dry-run          # the same code on CPU at toy sizes (the suite)

Each check is recorded in the JSON (``ok``, what it measured, or the error) and the others go
on; the exit status is 1 if any failed:

1. ``environment``: torch and its CUDA, the GPU, mmcv and the CUDA version its ops were
   compiled with ("not available": CPU-only ops, rebuild with ``ARCHTRANSFER_CUDA=1``); one of
   mmcv's compiled ops (``mmcv.ops.nms`` on two boxes) run on the device, so an mmcv without
   ``_ext`` or without CUDA kernels fails here; the GPU's architecture against those the wheel
   was built for (``scripts/build_mmcv.sh`` records them in the wheel's dist-info).
2. ``supernet_training`` / ``supernet_training_amp``: the ResNet bottleneck super-network
   [8, 10, 36, 14] trained by the project's runner (``configs/supernet/
   resnet_bottleneck_imagenet.py``: mmpretrain's ImageNet pipeline on a synthetic folder of
   JPEGs, ``DepthSamplingHook``), fp32 and ``--amp`` (mmengine's AmpOptimWrapper, fp16):
   images/s over the iterations after warm-up, peak memory.
3. ``supernet_vs_subnet``: forward+backward of the super-network at an allocation against its
   subnet of the same depth (``benchmarks/supernet_step.py``), fp32 and bf16 autocast.
4. ``faster_rcnn``: Faster-RCNN FPN with Transfer-ResNet50 [1, 3, 7, 5] (mmdet, mmcv's RoIAlign
   and NMS): loss, backward and inference on synthetic boxes.
5. ``collectives``: a one-rank NCCL group (gloo in a dry run): whether NCCL refuses a CPU
   tensor, and the search evaluator's sharded score equal to the plain one with every tensor
   handed to a collective on the model's device.
6. ``distributed``: two processes of ``torchrun --nproc_per_node=2`` on two GPUs (gloo on CPU in
   a dry run; skipped with fewer than two GPUs), where the cross-rank reductions really reduce:
   DDP steps of a super-network with a sampled depth per iteration (blocks past it get no
   gradient) ending with identical parameters on both ranks; the search's BatchNorm
   recalibration averaged over the ranks (``recalibrate_bn(..., across_ranks=True)``) equal to
   the mean of the per-rank estimates; the evaluator's sharded score over two shards equal to
   the plain score over all the data, and its per-image results collected on rank 0
   (``mmengine.dist.collect_results``).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmarks/ and the packages, also without an install

from common.checkpoint import atomic_write_text  # noqa: E402
from common.cli import run_cli  # noqa: E402  (quiets mmengine's import-time warnings)

# (full run, dry run) sizes
SIZES = dict(image=(224, 64), batch=(64, 2), iters=(30, 3), warmup=(10, 1), repeats=(10, 2),
             det_image=(800, 128), det_batch=(2, 1), det_iters=(5, 1), workers=(8, 0),
             synthetic_images=(256, 8), dist_iters=(10, 3), dist_batch=(32, 4))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='gpu_smoke.json', help='where the JSON goes')
    parser.add_argument('--dry-run', action='store_true',
                        help='CPU and toy sizes: the same code path, for the test suite')
    parser.add_argument('--only', nargs='+', choices=list(CHECKS), help='run these checks')
    parser.add_argument('--distributed-worker', metavar='JSON', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.distributed_worker:  # one rank of the ``distributed`` check, started by torchrun
        distributed_worker(args.distributed_worker, args.dry_run)
        return 0
    if not args.dry_run and not torch.cuda.is_available():
        raise ValueError(f'no CUDA device (torch {torch.__version__}, CUDA '
                         f'{torch.version.cuda}): run on a GPU machine, or --dry-run on CPU')
    device = torch.device('cpu' if args.dry_run else 'cuda')
    size = {k: v[1] if args.dry_run else v[0] for k, v in SIZES.items()}
    report = dict(dry_run=args.dry_run, device=str(device), sizes=size, checks={})
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only or CHECKS:
            print(f'[gpu_smoke] {name} ...', flush=True)
            began = time.perf_counter()
            try:
                result = dict(ok=True, **CHECKS[name](device, size, Path(tmp)))
            except Exception as err:  # a failed check is recorded; the next one still runs
                result = dict(ok=False, error=f'{type(err).__name__}: {err}',
                              traceback=traceback.format_exc(limit=-6))
            result['seconds'] = round(time.perf_counter() - began, 2)
            report['checks'][name] = result
            print(f'[gpu_smoke] {name}: {"ok" if result["ok"] else "FAILED"} '
                  f'{_summary(result)}', flush=True)
            if device.type == 'cuda':
                torch.cuda.empty_cache()
    report['seconds'] = round(time.perf_counter() - start, 1)
    atomic_write_text(args.out, json.dumps(report, indent=1, default=str))
    failed = [n for n, r in report['checks'].items() if not r['ok']]
    print(f'[gpu_smoke] {len(report["checks"]) - len(failed)} ok, {len(failed)} failed '
          f'({", ".join(failed) or "none"}) in {report["seconds"]} s; {args.out}')
    return 1 if failed else 0


def _summary(result: dict) -> str:
    if not result['ok']:
        return result['error'].splitlines()[0][:300]
    return ', '.join(f'{k}={v}' for k, v in result.items()
                     if isinstance(v, (int, float, str)) and k not in ('ok',))[:300]


# --------------------------------------------------------------------------------- checks
def check_environment(device, size, tmp):
    info = dict(torch=torch.__version__, torch_cuda=torch.version.cuda,
                cudnn=torch.backends.cudnn.version() if device.type == 'cuda' else None)
    if device.type == 'cuda':
        props = torch.cuda.get_device_properties(device)
        info.update(gpu=props.name, capability='.'.join(map(str, (props.major, props.minor))),
                    memory_gib=round(props.total_memory / 2**30, 1),
                    nccl='.'.join(map(str, torch.cuda.nccl.version())))
    import mmcv
    info['mmcv'] = mmcv.__version__
    try:
        from mmcv.ops import get_compiler_version, get_compiling_cuda_version, nms
    except ImportError as err:  # an mmcv without compiled ops (mmcv-lite, a failed build)
        raise RuntimeError(f'mmcv {mmcv.__version__} has no compiled ops ({err}): Faster-RCNN '
                           'will fail; rebuild with bash scripts/setup.sh') from err
    info.update(mmcv_ops_cuda=get_compiling_cuda_version(),
                mmcv_ops_compiler=get_compiler_version())
    if device.type == 'cuda' and info['mmcv_ops_cuda'] == 'not available':
        raise RuntimeError("mmcv's ops were compiled without CUDA: Faster-RCNN will fail; "
                           'rebuild with ARCHTRANSFER_CUDA=1 bash scripts/setup.sh')
    built = mmcv_build_info()
    info['mmcv_arch_list'] = (';'.join(built['arch_list']) or 'none (CPU ops)') if built \
        else 'not recorded (an mmcv not built by scripts/build_mmcv.sh)'
    if device.type == 'cuda' and built and built['arch_list']:
        capability = (props.major, props.minor)
        info['mmcv_kernels'] = covering_arch(capability, built['arch_list'])
        if info['mmcv_kernels'] is None:
            raise RuntimeError(
                f"mmcv's ops were built for {info['mmcv_arch_list']}: no kernel for this GPU "
                f"({info['capability']}) and no PTX it can compile; rebuild with "
                f"TORCH_CUDA_ARCH_LIST={info['capability']}+PTX bash scripts/setup.sh")
    # a compiled op on the device: fails on missing kernels ("no kernel image is available")
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.]], device=device)
    _, keep = nms(boxes, torch.tensor([0.9, 0.8], device=device), iou_threshold=0.5)
    if keep.tolist() != [0]:
        raise RuntimeError(f'mmcv.ops.nms kept boxes {keep.tolist()} of two overlapping ones '
                           '(IoU 0.68 > 0.5), expected [0]')
    info['mmcv_nms'] = f'ok on {device.type}'
    return info


def mmcv_build_info() -> dict | None:
    """What scripts/build_mmcv.sh recorded in the installed mmcv wheel's dist-info
    (``tag``, ``cuda``, ``arch_list``), or None for an mmcv built elsewhere."""
    from importlib.metadata import PackageNotFoundError, distribution
    try:
        text = distribution('mmcv').read_text('archtransfer_build.json')
    except PackageNotFoundError:
        return None
    return json.loads(text) if text else None


def covering_arch(capability: tuple, arch_list) -> str | None:
    """Which of ``arch_list`` (TORCH_CUDA_ARCH_LIST entries, e.g. ``'8.0'``, ``'9.0a'``,
    ``'8.6+PTX'``) gives a GPU of ``capability`` its kernels, or None.

    A cubin runs on GPUs of its major version and a minor version at least its own
    (``a``-suffixed ones on their exact architecture only); PTX is compiled by the driver for any
    GPU at least as new.

    >>> covering_arch((8, 6), ['7.5', '8.0', '9.0'])
    'sm_80'
    >>> covering_arch((7, 5), ['8.0', '9.0']) is None
    True
    >>> covering_arch((12, 0), ['8.0', '9.0+PTX'])
    'PTX compute_90'
    >>> covering_arch((9, 0), ['9.0a'])
    'sm_90a'
    """
    cubins, ptx = [], []
    for entry in arch_list:
        match = re.fullmatch(r'\s*(\d+)\.(\d+)([af]?)(\+PTX)?\s*', entry)
        if not match:
            continue
        major, minor, suffix = int(match[1]), int(match[2]), match[3]
        if suffix == 'a' and (major, minor) == tuple(capability) or \
                suffix != 'a' and major == capability[0] and minor <= capability[1]:
            cubins.append(((major, minor), f'sm_{major}{minor}{suffix}'))
        if match[4] and (major, minor) <= tuple(capability):
            ptx.append(((major, minor), f'PTX compute_{major}{minor}'))
    best = max(cubins) if cubins else max(ptx) if ptx else None
    return best[1] if best else None


def _synthetic_imagenet(root: Path, count: int, side: int, classes: int = 4) -> Path:
    """``train/<class>/*.JPEG`` of smooth random images (ImageNetSubset's folder layout)."""
    from PIL import Image
    rng = np.random.default_rng(0)
    for i in range(count):
        folder = root / 'train' / f'n{i % classes:08d}'
        folder.mkdir(parents=True, exist_ok=True)
        coarse = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        Image.fromarray(coarse).resize((side, side), Image.BILINEAR).save(folder / f'{i}.JPEG')
    return root


def _train_supernet(device, size, tmp, amp: bool):
    from mmengine.config import Config
    from mmengine.hooks import Hook

    from engine.launch import build_runner
    data_root = tmp / 'imagenet'
    if not data_root.exists():
        _synthetic_imagenet(data_root, size['synthetic_images'], max(size['image'] + 32, 72))
    cfg = Config.fromfile(ROOT / 'configs/supernet/resnet_bottleneck_imagenet.py')
    cfg.work_dir = str(tmp / f'train_amp{int(amp)}')
    cfg.model.head.num_classes = 4
    loader = cfg.train_dataloader
    loader.update(batch_size=size['batch'], num_workers=size['workers'],
                  persistent_workers=size['workers'] > 0)
    loader.dataset.data_root = str(data_root)
    for step in loader.dataset.pipeline:
        if step['type'] == 'RandomResizedCrop':
            step['scale'] = size['image']
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=size['iters'])
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator', 'test_dataloader', 'test_cfg',
                'test_evaluator'):
        cfg[key] = None
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger.interval = size['iters']
    cfg.log_level = 'WARNING'

    class StepTimes(Hook):
        def __init__(self):
            self.times = []

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            if device.type == 'cuda':
                torch.cuda.synchronize()
            self.times.append(time.perf_counter())

    runner = build_runner(cfg, amp=amp, auto_scale_lr=False)
    timer = StepTimes()
    runner.register_hook(timer, priority='VERY_LOW')
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    runner.train()
    wrapper = type(runner.optim_wrapper).__name__
    if amp and wrapper != 'AmpOptimWrapper':
        raise RuntimeError(f'--amp built {wrapper}, not AmpOptimWrapper')
    timed = timer.times[size['warmup']:]
    seconds = (timed[-1] - timed[0]) / max(len(timed) - 1, 1)
    loss = runner.message_hub.get_scalar('train/loss').current()
    if not np.isfinite(loss):
        raise RuntimeError(f'loss is {loss} after {size["iters"]} iterations')
    return dict(optim_wrapper=wrapper, iterations=size['iters'], batch=size['batch'],
                image=size['image'], seconds_per_iter=round(seconds, 4),
                images_per_s=round(size['batch'] / seconds, 1), last_loss=round(float(loss), 4),
                peak_memory_gib=_peak_memory(device))


def check_supernet_training(device, size, tmp):
    return _train_supernet(device, size, tmp, amp=False)


def check_supernet_training_amp(device, size, tmp):
    if device.type == 'cpu':
        return dict(skipped='fp16 AmpOptimWrapper needs CUDA')
    return _train_supernet(device, size, tmp, amp=True)


def check_supernet_vs_subnet(device, size, tmp):
    from benchmarks.supernet_step import measure
    out = {}
    dtypes = {'fp32': None, 'bf16_autocast': torch.bfloat16}
    for name, dtype in dtypes.items():
        result = measure('resnet_bottleneck', size['batch'], size['image'], size['repeats'],
                         allocation=(3, 4, 6, 3), device=device, autocast_dtype=dtype)
        out[f'{name}_supernet_ms'] = round(result['supernet_s'] * 1000, 2)
        out[f'{name}_static_ms'] = round(result['static_s'] * 1000, 2)
        out[f'{name}_ratio'] = round(result['ratio'], 3)
    out.update(allocation=[3, 4, 6, 3], batch=size['batch'], image=size['image'])
    return out


def check_faster_rcnn(device, size, tmp):
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.structures import InstanceData

    import engine.registry  # noqa: F401  (registers AllocatedResNet)
    cfg = Config.fromfile(ROOT / 'configs/detection/faster_rcnn_transfer_r50_fpn_1x_coco.py')
    cfg.model.backbone.init_cfg = None
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model).to(device)
    model.init_weights()
    side, rng = size['det_image'], np.random.default_rng(0)

    def batch():
        inputs, samples = [], []
        for _ in range(size['det_batch']):
            inputs.append(torch.from_numpy(rng.integers(0, 256, (3, side, side), np.uint8)))
            xy = rng.uniform(0, side * 0.6, (5, 2))
            wh = rng.uniform(side * 0.1, side * 0.4, (5, 2))
            sample = DetDataSample(metainfo=dict(img_shape=(side, side), ori_shape=(side, side),
                                                 scale_factor=(1.0, 1.0)))
            sample.gt_instances = InstanceData(
                bboxes=torch.tensor(np.hstack([xy, xy + wh]), dtype=torch.float32),
                labels=torch.from_numpy(rng.integers(0, 80, 5)))
            samples.append(sample)
        return dict(inputs=inputs, data_samples=samples)

    optimizer = torch.optim.SGD(model.parameters(), lr=0.002, momentum=0.9)
    model.train()
    times = []
    for _ in range(size['det_iters'] + 1):
        data = model.data_preprocessor(batch(), training=True)
        _sync(device)
        began = time.perf_counter()
        loss, log_vars = model.parse_losses(model(**data, mode='loss'))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        _sync(device)
        times.append(time.perf_counter() - began)
    if not torch.isfinite(loss):
        raise RuntimeError(f'Faster-RCNN loss is {float(loss)}')
    model.eval()
    with torch.no_grad():
        results = model(**model.data_preprocessor(batch(), training=False), mode='predict')
    return dict(image=side, batch=size['det_batch'], loss=round(float(loss), 4),
                train_step_s=round(float(np.median(times[1:])), 4),
                roi_losses=sorted(k for k in log_vars if 'bbox' in k or 'cls' in k),
                detections=[len(r.pred_instances) for r in results],
                peak_memory_gib=_peak_memory(device))


def check_collectives(device, size, tmp):
    import torch.distributed as dist
    from torch import nn

    from search import ClassificationEvaluator
    from supernet import build_backbone, get_space
    backend = 'nccl' if device.type == 'cuda' else 'gloo'
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    if device.type == 'cuda':
        torch.cuda.set_device(device.index or 0)
    dist.init_process_group(backend, init_method=f'tcp://127.0.0.1:{port}', rank=0,
                            world_size=1)
    try:
        out = dict(backend=backend)
        if backend == 'nccl':  # the mistake this check guards against: a CPU tensor in NCCL
            try:
                dist.all_reduce(torch.zeros(1))
                out['nccl_refuses_cpu_tensor'] = False
            except Exception as err:
                out['nccl_refuses_cpu_tensor'] = f'{type(err).__name__}: {err}'.splitlines()[0]
        torch.manual_seed(0)
        model = nn.Module()
        model.backbone = build_backbone(get_space('resnet_basic').scaled(0.25, small_input=True),
                                        out_indices=(3,))
        model.fc = nn.Linear(128, 10)
        model.head = lambda feats: model.fc(feats[-1].mean((2, 3)))
        model.to(device)
        batches = [(torch.randn(16, 3, 16, 16, device=device),
                    torch.randint(10, (16,), device=device)) for _ in range(4)]
        seen = []
        with _recorded_collectives(dist, seen):
            sharded = ClassificationEvaluator(model, batches[:2], batches[2:], 2,
                                              sharded=True)((2, 2, 2, 2))
        plain = ClassificationEvaluator(model, batches[:2], batches[2:], 2)((2, 2, 2, 2))
        devices = sorted({str(d) for _, d in seen})
        if not seen or any(d.type != device.type for _, d in seen):
            raise RuntimeError(f'collectives got tensors on {devices}, the model is on {device}')
        if sharded != plain:
            raise RuntimeError(f'sharded score {sharded} != plain {plain}')
        out.update(collectives=sorted({n for n, _ in seen}), tensor_devices=devices,
                   score=round(sharded, 4))
        return out
    finally:
        dist.destroy_process_group()


def check_distributed(device, size, tmp):
    gpus = torch.cuda.device_count() if device.type == 'cuda' else 0
    if device.type == 'cuda' and gpus < 2:
        return dict(skipped=f'needs two GPUs, found {gpus}')
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    out = tmp / 'distributed.json'
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nnodes=1', '--nproc_per_node=2',
           '--master_addr=127.0.0.1', f'--master_port={port}', __file__,
           '--distributed-worker', str(out)] + (['--dry-run'] if device.type == 'cpu' else [])
    env = {**os.environ, 'OMP_NUM_THREADS': os.environ.get('OMP_NUM_THREADS', '1')}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    if result.returncode != 0 or not out.exists():
        # the first exception a rank raised, not torchrun's summary of it
        raised = [line.strip() for line in (result.stderr + result.stdout).splitlines()
                  if re.match(r'\s*([\w.]+(Error|Exception)|gpu_smoke\.py: error): ', line)
                  and 'ChildFailedError' not in line] or result.stderr.splitlines()[-1:]
        raise RuntimeError(f'torchrun --nproc_per_node=2 exited with {result.returncode}: '
                           f'{raised[0] if raised else "no output"}')
    return json.loads(out.read_text())


def distributed_worker(out: str, dry_run: bool):
    """One rank of ``check_distributed``; rank 0 writes what both measured to ``out``."""
    import torch.distributed as dist
    from mmengine.dist import collect_results
    from torch import nn
    from torch.nn.parallel import DistributedDataParallel

    from common.batchnorm import batchnorms, recalibrate_bn
    from engine.hooks import parameter_checksum, sample_allocation
    from search import ClassificationEvaluator
    from supernet import build_backbone, get_space
    size = {k: v[1] if dry_run else v[0] for k, v in SIZES.items()}
    local_rank = int(os.environ['LOCAL_RANK'])
    if dry_run:
        device, backend = torch.device('cpu'), 'gloo'
    else:
        device, backend = torch.device('cuda', local_rank), 'nccl'
        torch.cuda.set_device(device)
    dist.init_process_group(backend)
    try:
        rank, world = dist.get_rank(), dist.get_world_size()
        space = get_space('resnet_basic').scaled(0.25, small_input=True)

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.backbone = build_backbone(space, out_indices=(3,))
                self.fc = nn.Linear(128, 10)

            def forward(self, x):
                return self.head(self.backbone(x))

            def head(self, feats):
                return self.fc(feats[-1].mean((2, 3)))

        torch.manual_seed(0)  # the same initial weights on every rank
        net = Net().to(device)
        generator = torch.Generator().manual_seed(1 + rank)  # each rank its own data

        def batch():
            return (torch.randn(size['dist_batch'], 3, 16, 16, generator=generator).to(device),
                    torch.randint(10, (size['dist_batch'],), generator=generator).to(device))

        # 1. DDP steps, a sampled depth per iteration (the blocks past it get no gradient)
        ddp = DistributedDataParallel(net, device_ids=[local_rank] if device.type == 'cuda'
                                      else None, find_unused_parameters=True)
        optimizer = torch.optim.SGD(ddp.parameters(), lr=0.05, momentum=0.9)
        allocations = []
        for iteration in range(size['dist_iters']):
            allocations.append(net.backbone.set_allocation(sample_allocation(space, 0, iteration)))
            images, labels = batch()
            loss = nn.functional.cross_entropy(ddp(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        checksums = [None] * world
        dist.all_gather_object(checksums, parameter_checksum(net))
        if len(set(checksums)) != 1:
            raise RuntimeError(f'parameters differ across ranks after {len(allocations)} DDP steps')
        net.eval()

        # 2. the search's BatchNorm recalibration averaged over the ranks
        net.backbone.set_allocation(space.max_depths)
        recal = [batch()[0] for _ in range(2)]
        recalibrate_bn(net, recal)  # this rank's own estimate
        own = torch.cat([bn.running_mean for bn in batchnorms(net)]).double()
        recalibrate_bn(net, recal, across_ranks=True)
        averaged = torch.cat([bn.running_mean for bn in batchnorms(net)]).double()
        every = [torch.zeros_like(own) for _ in range(world)]
        dist.all_gather(every, own)
        bn_error = float((averaged - torch.stack(every).mean(0)).abs().max())
        if bn_error > 1e-5:
            raise RuntimeError(f'recalibrate_bn(across_ranks=True) is {bn_error:.2e} off the '
                               'mean of the ranks\' estimates')

        # 3. sharded evaluation (each rank its shard) against the plain one over all the data;
        # the metric is minus the mean cross-entropy: continuous, unlike top-1 on random data
        train_shard, val_shard = [batch() for _ in range(2)], [batch() for _ in range(2)]
        gathered = [None] * world
        dist.all_gather_object(gathered, [[(x.cpu(), y.cpu()) for x, y in train_shard],
                                          [(x.cpu(), y.cpu()) for x, y in val_shard]])
        allocation = sample_allocation(space, 0, 10 ** 6)
        sharded_eval = ClassificationEvaluator(net, train_shard, val_shard, 2, metric='loss',
                                               sharded=True)
        sharded = sharded_eval(allocation)
        per_image = sharded_eval.last_per_image.loglik.tolist()
        collected = collect_results(per_image, len(per_image) * world,
                                    device='gpu' if device.type == 'cuda' else 'cpu',
                                    tmpdir=str(Path(out).parent / 'collect'))
        # all ranks' recalibration batches one after another, in rank order: the batch
        # statistics of each rank in turn; an exact average, as the sharded one
        train_all = [b for shard in gathered for b in shard[0]]
        val_all = [b for shard in gathered for b in shard[1]]
        plain = ClassificationEvaluator(net, train_all, val_all, len(train_all),
                                        metric='loss')(allocation)
        if abs(sharded - plain) > 1e-5:
            raise RuntimeError(f'sharded score over {world} ranks {sharded} != plain {plain}')
        if rank == 0:
            if len(collected) != len(per_image) * world or \
                    abs(np.mean(collected) - sharded) > 1e-9:
                raise RuntimeError(f'collect_results gave {len(collected)} results, mean '
                                   f'{np.mean(collected)}; the sharded score is {sharded}')
            atomic_write_text(out, json.dumps(dict(
                backend=backend, world_size=world, ddp_steps=len(allocations),
                allocations=sorted({'-'.join(map(str, a)) for a in allocations}),
                parameters_equal=True, bn_recal_max_error=bn_error, sharded_score=sharded,
                plain_score=plain, collected_results=len(collected))))
        dist.barrier()
    finally:
        dist.destroy_process_group()


@contextlib.contextmanager
def _recorded_collectives(dist, seen: list):
    originals = {name: getattr(dist, name) for name in ('all_reduce', 'broadcast')}

    def recording(name):
        def wrapper(tensor, *args, **kwargs):
            seen.append((name, tensor.device))
            return originals[name](tensor, *args, **kwargs)
        return wrapper

    try:
        for name in originals:
            setattr(dist, name, recording(name))
        yield seen
    finally:
        for name, original in originals.items():
            setattr(dist, name, original)


def _sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize()


def _peak_memory(device):
    return round(torch.cuda.max_memory_allocated() / 2**30, 2) if device.type == 'cuda' else None


CHECKS = dict(environment=check_environment, supernet_training=check_supernet_training,
              supernet_training_amp=check_supernet_training_amp,
              supernet_vs_subnet=check_supernet_vs_subnet, faster_rcnn=check_faster_rcnn,
              collectives=check_collectives, distributed=check_distributed)

if __name__ == '__main__':
    os.environ.setdefault('PYTHONUNBUFFERED', '1')
    sys.exit(run_cli(main))
