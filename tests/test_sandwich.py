"""Several subnets per super-network step: the sandwich rule and inplace distillation
(engine.sandwich), single process, two gloo processes, and across a resume."""
import copy
import json
import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F
from conftest import ROOT
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import engine.registry  # noqa: F401  (what custom_imports does)
from engine.launch import build_runner
from engine.sandwich import SupernetClassifier, SupernetDDP, step_allocations
from supernet import get_space

DEMO_CONFIG = ROOT / 'configs/demo/supernet_resnet_fashion.py'
SANDWICH = dict(largest=True, smallest=True, random=2)
SPACE = get_space('resnet_bottleneck_demo')


def build_model(train_subnets=None, inplace_distill=None, seed=0):
    cfg = Config.fromfile(DEMO_CONFIG).model
    cfg.train_subnets = train_subnets or {}
    if inplace_distill is not None:
        cfg.inplace_distill = inplace_distill
    torch.manual_seed(seed)
    model = MODELS.build(cfg)
    model.init_weights()
    # the residual branches start at zero (zero_init_residual): give every block a gradient path
    for name, param in model.named_parameters():
        if name.endswith('norm3.weight'):
            param.data.fill_(0.5)
    return model


def batch(seed, size=6):
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (size, 3, 28, 28), generator=generator, dtype=torch.uint8)
    labels = torch.randint(0, 10, (size,), generator=generator)
    return dict(inputs=list(images), data_samples=[DataSample().set_gt_label(int(y)) for y in labels])


def test_step_allocations_order_and_seeding():
    steps = step_allocations(SPACE, 3, 17, **SANDWICH)
    assert steps[0] == SPACE.max_depths and steps[-1] == SPACE.min_depths and len(steps) == 4
    assert step_allocations(SPACE, 3, 17, **SANDWICH) == steps  # every rank, every resume
    assert step_allocations(SPACE, 3, 18, **SANDWICH)[1:3] != steps[1:3]
    # the uniform recipe's one subnet is the sandwich's first random one
    assert step_allocations(SPACE, 3, 17) == [steps[1]]
    assert step_allocations(SPACE, 3, 17, largest=True, random=0) == [SPACE.max_depths]


@pytest.mark.parametrize('distill', [None, dict(temperature=2.0, weight=1.0),
                                     dict(temperature=1.0, weight=0.5)])
def test_one_update_is_the_sum_of_the_subnets_gradients(distill):
    model = build_model(SANDWICH, distill)
    expected_model = copy.deepcopy(model)
    allocations = step_allocations(SPACE, 0, 5, **SANDWICH)
    data = batch(1)

    # by hand: each subnet's loss, the largest's logits detached as the others' soft labels
    expected_model.train()
    inputs = expected_model.data_preprocessor(copy.deepcopy(data), True)
    labels = torch.stack([s.gt_label for s in inputs['data_samples']]).squeeze(1)
    params = [p for p in expected_model.parameters() if p.requires_grad]
    total = [torch.zeros_like(p) for p in params]
    teacher = None
    for k, allocation in enumerate(allocations):
        expected_model.backbone.set_allocation(allocation)
        logits = expected_model(inputs['inputs'], mode='tensor')
        smoothed = torch.full_like(logits, 0.1 / 10).scatter_(1, labels[:, None], 0.9 + 0.1 / 10)
        label_loss = torch.sum(-smoothed * F.log_softmax(logits, 1), 1).mean()
        if k == 0 or distill is None:
            loss = label_loss
        else:
            t = distill['temperature']
            kd = F.kl_div(F.log_softmax(logits / t, 1), F.softmax(teacher / t, 1),
                          reduction='batchmean') * t * t
            loss = distill['weight'] * kd + (1 - distill['weight']) * label_loss
        if k == 0:
            teacher = logits.detach()
        for acc, grad in zip(total, torch.autograd.grad(loss, params, allow_unused=True)):
            if grad is not None:
                acc += grad

    before = [p.detach().clone() for p in model.parameters() if p.requires_grad]
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1.0))
    model.train()
    model.step_allocations = allocations
    log_vars = model.train_step(data, wrapper)
    after = [p.detach() for p in model.parameters() if p.requires_grad]
    for b, a, g in zip(before, after, total):
        torch.testing.assert_close(b - a, g, atol=2e-5, rtol=1e-4)
    assert set(log_vars) == {'loss', 'loss_largest', 'loss_random0', 'loss_random1',
                             'loss_smallest'}
    assert wrapper._inner_count == 1  # one step counted once, however many subnets
    assert any((b != a).any() for b, a in zip(before, after))


def test_uniform_recipe_trains_like_image_classifier():
    """The default SupernetClassifier takes exactly mmpretrain's ImageClassifier step."""
    model = build_model()
    reference = MODELS.build(_image_classifier_cfg())
    reference.load_state_dict(model.state_dict())
    allocation = step_allocations(SPACE, 0, 9)
    results = []
    for net in (model, reference):
        net.train()
        net.backbone.set_allocation(allocation[0])
        net.step_allocations = allocation
        wrapper = OptimWrapper(torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9))
        loss = net.train_step(batch(2), wrapper)['loss']
        results.append((float(loss), [p.detach().clone() for p in net.parameters()]))
    assert results[0][0] == results[1][0]
    assert all(torch.equal(a, b) for a, b in zip(results[0][1], results[1][1]))


def _image_classifier_cfg():
    cfg = Config.fromfile(DEMO_CONFIG).model
    cfg.type = 'ImageClassifier'
    cfg.pop('train_subnets')
    return cfg


@pytest.mark.parametrize('options, message', [
    (dict(train_subnets=dict(middle=True)), r"train_subnets: unknown keys \['middle'\]"),
    (dict(train_subnets=dict(random=0)), 'trains no subnet'),
    (dict(train_subnets=dict(random=-1)), r'random=-1: a count >= 0'),
    (dict(inplace_distill=dict(temperature=1.0)), 'needs the largest subnet as the teacher'),
    (dict(train_subnets=SANDWICH, inplace_distill=dict(temperature=0)), 'temperature=0'),
    (dict(train_subnets=SANDWICH, inplace_distill=dict(weight=2)), 'weight=2: between 0 and 1'),
])
def test_bad_recipes_are_refused_in_one_line(options, message):
    cfg = Config.fromfile(DEMO_CONFIG).model
    cfg.update(options)
    with pytest.raises(ValueError, match=message) as error:
        MODELS.build(cfg)
    assert '\n' not in str(error.value)


def test_a_step_without_the_sampling_hook_is_refused():
    model = build_model(SANDWICH)
    with pytest.raises(RuntimeError, match='DepthSamplingHook'):
        model.train_step(batch(0), OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1)))


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _ddp_step(rank, port, out_dir, plan, distill):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.set_num_threads(1)
    torch.distributed.init_process_group('gloo', rank=rank, world_size=2)
    try:
        model = build_model(plan, distill, seed=0)  # same init on both ranks
        local = copy.deepcopy(model)
        allocations = step_allocations(SPACE, 0, 3, **(plan or {}))
        data = batch(10 + rank)  # each rank its own images
        ddp = SupernetDDP(module=model, device_ids=None, broadcast_buffers=False,
                          find_unused_parameters=True)
        before = [p.detach().clone() for p in model.parameters()]
        model.train()
        model.step_allocations = allocations
        ddp.train_step(copy.deepcopy(data), OptimWrapper(torch.optim.SGD(ddp.parameters(), lr=1.0)))
        # the same step without DDP on this rank's images: its gradient, averaged over ranks
        local.train()
        local.step_allocations = allocations
        local_before = [p.detach().clone() for p in local.parameters()]
        local.train_step(copy.deepcopy(data), OptimWrapper(torch.optim.SGD(local.parameters(), lr=1.0)))
        deltas = []
        for p0, p1 in zip(local_before, local.parameters()):
            delta = (p0 - p1.detach()).contiguous()
            torch.distributed.all_reduce(delta)
            deltas.append(delta / 2)
        errors = [float((b - a.detach() - d).abs().max())
                  for b, a, d in zip(before, model.parameters(), deltas)]
        checksum = float(sum(p.detach().double().sum() for p in model.parameters()))
        Path(out_dir, f'rank{rank}.json').write_text(json.dumps(dict(
            max_error=max(errors), checksum=checksum)))
    finally:
        torch.distributed.destroy_process_group()


@pytest.mark.parametrize('plan, distill', [(None, None),
                                           (SANDWICH, dict(temperature=1.0, weight=1.0))])
def test_two_gloo_processes_reduce_the_summed_subnet_gradients_once(tmp_path, plan, distill):
    mp.spawn(_ddp_step, args=(free_port(), str(tmp_path), plan, distill), nprocs=2, join=True)
    ranks = [json.loads((tmp_path / f'rank{r}.json').read_text()) for r in (0, 1)]
    assert ranks[0]['checksum'] == ranks[1]['checksum']  # the ranks stay identical
    # each rank's update is the mean over ranks of the local sum of the subnets' gradients:
    # every subnet's gradient was reduced, not only the last one's
    assert max(r['max_error'] for r in ranks) < 1e-4


def test_a_resumed_run_trains_the_same_subnets(tmp_path):
    from archdata import prepare_demo_source
    data = prepare_demo_source(tmp_path / 'data', train_per_class=4, val_per_class=2)
    options = {'train_cfg.val_interval': 100, 'train_dataloader.batch_size': 4,
               'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
               'val_dataloader.num_workers': 0, 'val_dataloader.persistent_workers': False,
               'val_cfg.bn_recalibration_batches': 1, 'default_hooks.checkpoint.interval': 2,
               'custom_hooks.0.record': True, 'model.train_subnets': SANDWICH,
               'model.inplace_distill': dict(temperature=1.0, weight=1.0)}

    def run(iters, resume):
        cfg = Config.fromfile(DEMO_CONFIG)
        cfg.work_dir = str(tmp_path / 'work')
        cfg.experiment_name = f'sandwich_{iters}'
        cfg.resume = resume
        runner = build_runner(cfg, data_root=str(data),
                              cfg_options={**options, 'train_cfg.max_iters': iters})
        runner.train()
        return runner

    run(2, False)
    runner = run(4, True)
    records = [json.loads(line) for line in
               (tmp_path / 'work/depth_samples.rank0.jsonl').read_text().splitlines()
               if 'allocations' in line]
    assert [r['iter'] for r in records] == [0, 1, 2, 3]  # the resumed run went on at 2
    for record in records:
        assert [tuple(a) for a in record['allocations']] == step_allocations(
            SPACE, runner.seed, record['iter'], **SANDWICH)
    assert isinstance(runner.model, SupernetClassifier)


def test_the_imagenet_sandwich_config_is_the_named_recipe():
    from engine.recipes import RECIPES
    cfg = Config.fromfile(ROOT / 'configs/supernet/resnet_bottleneck_imagenet_sandwich.py')
    recipe = RECIPES['sandwich_distill']
    assert cfg.model.train_subnets == recipe['train_subnets']
    assert cfg.model.inplace_distill == recipe['inplace_distill']
    assert cfg.model.type == 'SupernetClassifier'
    assert cfg.model_wrapper_cfg.type == 'SupernetDDP'
    model = MODELS.build(cfg.model)
    assert model.train_subnets == recipe['train_subnets']
