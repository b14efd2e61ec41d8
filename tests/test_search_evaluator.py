"""Classification evaluator: BatchNorm recalibration, validation split, and prefix caching equal to
the uncached evaluation on real super-networks and real digits."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import randomize_batchnorm
from torch import nn

from archdata import load_digits
from common.batchnorm import batchnorms
from search import ClassificationEvaluator, greedy_search, recalibrate_bn, split_train_val
from supernet import build_backbone, get_space

RESNET = get_space('resnet_basic').scaled(0.25, small_input=True)   # max (3, 4, 6, 3)
MOBILE = get_space('mobilenet_v2').scaled(0.25)                       # max (5, 6, 8, 7, 7)


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """These networks are tiny: a second thread gains nothing, and on a loaded machine OpenMP's
    waiting threads made this module 10-50× slower in our runs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def digits():
    """Real digits as (images, labels): 3×8×8, normalised; train/val split of the train set."""
    images, labels = load_digits()
    x = torch.from_numpy(images).float().div(255).unsqueeze(1).repeat(1, 3, 1, 1)
    x = (x - x.mean()) / x.std()
    y = torch.from_numpy(labels)
    train, val = split_train_val(labels, val_fraction=0.1, seed=0)
    return (x[train], y[train]), (x[val], y[val])


def batches(x, y, size, count=None):
    out = list(zip(x.split(size), y.split(size)))
    return out[:count]


class Classifier(nn.Module):
    """Super-network backbone + head, optionally with BatchNorm in the head and all outputs."""

    def __init__(self, space, out_indices=(3,), head_bn=False, size=None):
        super().__init__()
        torch.manual_seed(0)
        self.backbone = randomize_batchnorm(build_backbone(space, out_indices=out_indices))
        channels = {i: c for i, c in enumerate(_out_channels(space))}
        width = sum(channels[i] for i in out_indices)
        self.norm = nn.BatchNorm1d(width) if head_bn else nn.Identity()
        self.fc = nn.Linear(width, 10)

    def head(self, feats):
        return self.fc(self.norm(torch.cat([f.mean((2, 3)) for f in feats], 1)))


def _out_channels(space):
    if space.family == 'resnet':
        expansion = 4 if space.stages[0].block == 'bottleneck' else 1
        return [s.channels * expansion for s in space.stages]
    return [s.channels for s in space.stages] + [space.head_channels]


def evaluators(model, digits, **kwargs):
    (xt, yt), (xv, yv) = digits
    train, val = batches(xt, yt, 48, count=4), batches(xv, yv, 64)
    cached = ClassificationEvaluator(model, train, val, num_recal_batches=3, **kwargs)
    plain = ClassificationEvaluator(model, train, val, num_recal_batches=3, prefix_cache=False,
                                    **kwargs)
    return cached, plain


def bn_state(model):
    return [(m.running_mean.clone(), m.running_var.clone()) for m in batchnorms(model)]


def reference_stats(model, allocation, images):
    """The subnet's recalibrated statistics, computed the plain way on a copy."""
    import copy
    model = copy.deepcopy(model)
    model.backbone.set_allocation(allocation)
    recalibrate_bn(model, images, forward=lambda x: model.head(model.backbone(x)))
    return _active_stats(model, allocation)


def _active_stats(model, allocation):
    """Statistics of the BatchNorm layers the allocation uses (inactive blocks excluded)."""
    space = model.backbone.space
    depths = space.layer_depths(allocation)
    stats = {}
    for name, m in model.named_modules():
        if not isinstance(m, nn.modules.batchnorm._BatchNorm):
            continue
        parts = name.split('.')
        if parts[0] == 'backbone' and parts[1] in depths and int(parts[2]) >= depths[parts[1]]:
            continue
        stats[name] = (m.running_mean.clone(), m.running_var.clone())
    return stats


def test_recalibration_changes_stats_and_restores_mode_and_momentum():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4, momentum=0.3), nn.ReLU(),
                          nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4), nn.Dropout(0.5))
    model.train()
    model[4].eval()  # mixed modes must come back as they were
    gen = torch.Generator().manual_seed(0)
    data = [torch.randn(8, 3, 6, 6, generator=gen) * 2 + 1 for _ in range(2)]
    before = bn_state(model)
    assert recalibrate_bn(model, data) == 2
    after = bn_state(model)
    assert all(not torch.allclose(b[0], a[0]) for b, a in zip(before, after))
    assert [m.training for m in model] == [True, True, True, True, False, True]
    assert (model[1].momentum, model[4].momentum) == (0.3, 0.1)
    # Cumulative average of the two batches' statistics (not a momentum blend).
    with torch.no_grad():
        feats = [model[0](x) for x in data]
    mean = torch.stack([f.mean((0, 2, 3)) for f in feats]).mean(0)
    var = torch.stack([f.var((0, 2, 3), unbiased=True) for f in feats]).mean(0)
    torch.testing.assert_close(model[1].running_mean, mean)
    torch.testing.assert_close(model[1].running_var, var)
    assert int(model[1].num_batches_tracked) == 2


def test_split_is_deterministic_stratified_and_disjoint():
    _, labels = load_digits()
    train, val = split_train_val(labels, val_fraction=0.2, seed=3)
    again = split_train_val(labels, val_fraction=0.2, seed=3)
    assert np.array_equal(train, again[0]) and np.array_equal(val, again[1])
    assert not set(train) & set(val) and len(train) + len(val) == len(labels)
    per_class = np.bincount(labels[val], minlength=10) / np.bincount(labels, minlength=10)
    np.testing.assert_allclose(per_class, 0.2, atol=0.01)
    other = split_train_val(labels, val_fraction=0.2, seed=4)[1]
    assert not np.array_equal(val, other)
    with pytest.raises(ValueError, match='val_fraction=1.5: allowed 0 < val_fraction < 1'):
        split_train_val(labels, 1.5)


def test_cached_greedy_equals_uncached_for_several_steps(digits):
    model = Classifier(RESNET)
    cached, plain = evaluators(model, digits, metric='loss')  # continuous: a strict comparison
    fast = greedy_search(RESNET, 10, cached, counter=False)
    slow = greedy_search(RESNET, 10, plain, counter=False)
    assert [r.allocation for r in fast.history] == [r.allocation for r in slow.history]
    np.testing.assert_allclose([r.score for r in fast.history], [r.score for r in slow.history],
                               rtol=1e-5)
    assert len({round(r.score, 4) for r in fast.history}) > 20  # the scores really differ
    assert [r.allocation for r in fast.chain] == [r.allocation for r in slow.chain]
    assert len(fast.chain) == 7


def test_cached_accuracy_equals_uncached(digits):
    model = Classifier(RESNET)
    cached, plain = evaluators(model, digits)
    parent = (1, 2, 2, 1)
    subnets = [(2, 2, 2, 1), (1, 3, 2, 1), (1, 2, 3, 1), (1, 2, 2, 2)]
    got = dict(cached.evaluate_step(parent, subnets))
    assert got == {subnet: plain(subnet) for subnet in subnets}
    assert all(0 <= score <= 1 for score in got.values())


def test_cached_statistics_equal_plain_recalibration(digits):
    # Between yields the model holds the subnet's recalibrated statistics: compare them, for
    # every subnet of a few parents (including one with skipped subnets and a non-greedy subnet).
    model = Classifier(RESNET, out_indices=(0, 1, 2, 3), head_bn=True)
    cached, plain = evaluators(model, digits, metric='loss')
    recal = cached.recal_images
    steps = [((1, 1, 1, 1), [(2, 1, 1, 1), (1, 2, 1, 1), (1, 1, 2, 1), (1, 1, 1, 2)]),
             ((2, 3, 1, 2), [(2, 4, 1, 2), (2, 3, 1, 3)]),          # stages 0 and 2 skipped
             ((1, 2, 5, 1), [(1, 2, 6, 1), (2, 2, 5, 1), (1, 3, 6, 2)])]
    for parent, subnets in steps:
        got = {}
        for subnet, score in cached.evaluate_step(parent, subnets):
            stats = _active_stats(model, subnet)
            expected = reference_stats(model, subnet, recal)
            assert stats.keys() == expected.keys()
            for name in expected:
                torch.testing.assert_close(stats[name], expected[name], rtol=1e-5, atol=1e-6,
                                           msg=f'{subnet} {name}')
            got[subnet] = score
        assert set(got) == set(subnets)
        for subnet in subnets:
            assert got[subnet] == pytest.approx(plain(subnet), rel=1e-5)


def test_cached_equals_uncached_on_mobilenet(digits):
    (xt, yt), (xv, yv) = digits
    up = lambda x: F.interpolate(x, size=16, mode='bilinear', align_corners=False)  # noqa: E731
    data = ((up(xt[:200]), yt[:200]), (up(xv[:100]), yv[:100]))
    model = Classifier(MOBILE, out_indices=(7,))
    cached, plain = evaluators(model, data, metric='loss')
    start = (2, 1, 3, 2, 1)
    fast = greedy_search(MOBILE, sum(start) + 3, cached, counter=False)
    slow = greedy_search(MOBILE, sum(start) + 3, plain, counter=False)
    np.testing.assert_allclose([r.score for r in fast.history], [r.score for r in slow.history],
                               rtol=1e-5)
    # A step from a deeper parent: every stage has blocks before and after the grown one.
    subnets = [tuple(d + (i == k) for i, d in enumerate(start)) for k in range(5)]
    got = dict(cached.evaluate_step(start, subnets))
    for subnet in subnets:
        assert got[subnet] == pytest.approx(plain(subnet), rel=1e-5)


def test_evaluation_restores_the_model(digits):
    model = Classifier(RESNET, head_bn=True)
    model.train()
    model.backbone.layer1.eval()   # mixed modes, as with frozen stages
    model.backbone.set_allocation((2, 2, 2, 2))
    momenta = [m.momentum for m in batchnorms(model)]
    before = bn_state(model)
    modes = [m.training for m in model.modules()]
    cached, _ = evaluators(model, digits)

    def unchanged():
        assert [m.training for m in model.modules()] == modes
        assert [m.momentum for m in batchnorms(model)] == momenta
        assert model.backbone.allocation == (2, 2, 2, 2)
        for (m0, v0), (m1, v1) in zip(before, bn_state(model)):
            assert torch.equal(m0, m1) and torch.equal(v0, v1)
        assert torch.is_grad_enabled()

    cached((1, 2, 1, 3))
    unchanged()
    list(cached.evaluate_step((1, 1, 1, 1), [(2, 1, 1, 1), (1, 1, 2, 1)]))
    unchanged()
    steps = cached.evaluate_step((1, 1, 1, 1), [(2, 1, 1, 1), (1, 1, 2, 1)])
    next(steps)
    assert torch.is_grad_enabled()  # the caller's code between yields keeps autograd
    assert model.backbone.allocation == (2, 1, 1, 1) and not model.training
    steps.close()  # abandoned mid-step
    unchanged()


def test_mmpretrain_image_classifier(digits):
    from mmpretrain.registry import MODELS

    import engine.registry  # noqa: F401  (registers the backbones)
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='ResNetSuperNet', space=RESNET, out_indices=(3,)),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=128)))
    randomize_batchnorm(model)
    cached, plain = evaluators(model, digits, metric='loss')
    parent = (1, 2, 1, 1)
    subnets = [(2, 2, 1, 1), (1, 3, 1, 1), (1, 2, 2, 1), (1, 2, 1, 2)]
    got = dict(cached.evaluate_step(parent, subnets))
    for subnet in subnets:
        assert got[subnet] == pytest.approx(plain(subnet), rel=1e-5)
    # The evaluator's logits are the classifier's own forward.
    x = digits[1][0][:4]
    model.backbone.set_allocation(parent)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(cached._logits(x), model(x))


def test_interface_errors(digits):
    with pytest.raises(TypeError, match='model.backbone must be a super-network'):
        ClassificationEvaluator(nn.Linear(2, 2), [], [], num_recal_batches=1)
    model = Classifier(RESNET)
    (xt, yt), (xv, yv) = digits
    with pytest.raises(ValueError, match='train_batches has 2 batches, fewer than '
                                         'num_recal_batches=5'):
        ClassificationEvaluator(model, batches(xt, yt, 32, 2), batches(xv, yv, 32), 5)
    with pytest.raises(ValueError, match="metric='top5': allowed"):
        ClassificationEvaluator(model, batches(xt, yt, 32, 2), batches(xv, yv, 32), 1, 'top5')
    evaluator = ClassificationEvaluator(model, batches(xt, yt, 32, 2), batches(xv, yv, 32), 1)
    with pytest.raises(ValueError, match=r'subnet \(1, 1, 1, 1\) does not extend parent'):
        list(evaluator.evaluate_step((1, 2, 1, 1), [(1, 1, 1, 1)]))


def test_evaluate_all_equals_uncached_and_shares_blocks(digits):
    # All allocations of 7 blocks: the walk must give every one the plain score, once, with the
    # stages' outputs that out_indices ask for and BatchNorm in the head.
    model = Classifier(RESNET, out_indices=(1, 3), head_bn=True)
    cached, plain = evaluators(model, digits, metric='loss')
    frontier = [a for a in np.ndindex(*RESNET.max_depths) if sum(a) == 3]  # depths - 1 sum 3
    frontier = [tuple(d + 1 for d in a) for a in frontier]
    calls = []
    for name in model.backbone.layer_names:
        for block in getattr(model.backbone, name):
            block.register_forward_hook(lambda m, args, out: calls.append(m))
    got = dict(cached.evaluate_all(frontier + frontier[:3]))  # duplicates scored once
    assert set(got) == set(frontier)
    for allocation in frontier:
        assert got[allocation] == pytest.approx(plain(allocation), rel=1e-5), allocation
    # Cheaper than one run per allocation: blocks ran less than half as often (each distinct
    # prefix once; counted per batch).
    calls.clear()
    dict(cached.evaluate_all(frontier))
    walked = len(calls)
    calls.clear()
    dict(plain.evaluate_all(frontier))
    assert walked < 0.5 * len(calls)


def test_evaluate_all_on_mobilenet_with_fixed_layers(digits):
    (xt, yt), (xv, yv) = digits
    up = lambda x: F.interpolate(x, size=16, mode='bilinear', align_corners=False)  # noqa: E731
    data = ((up(xt[:200]), yt[:200]), (up(xv[:100]), yv[:100]))
    model = Classifier(MOBILE, out_indices=(7,))
    cached, plain = evaluators(model, data)
    allocations = [(1, 1, 1, 1, 1), (2, 1, 3, 1, 2), (2, 1, 3, 2, 1), (1, 2, 1, 1, 2)]
    got = dict(cached.evaluate_all(allocations))
    assert got == {a: plain(a) for a in allocations}


def test_per_image_records_match_both_metrics(digits):
    model = Classifier(RESNET)
    accuracy, _ = evaluators(model, digits)
    loss, _ = evaluators(model, digits, metric='loss')
    top1 = accuracy((1, 2, 1, 1))
    records = accuracy.last_per_image
    assert len(records.correct) == len(digits[1][1])
    assert records.correct.mean() == pytest.approx(top1)
    assert records.loglik.mean() == pytest.approx(loss((1, 2, 1, 1)), rel=1e-9)
    assert (records.loglik <= 0).all()


def test_sharded_collectives_take_tensors_on_the_models_device(digits, tmp_path, monkeypatch):
    """NCCL reduces CUDA tensors only, so every tensor a sharded evaluation hands to a collective
    must live on the model's device. Without a GPU here, the evaluation runs with ``meta`` as the
    default device: a tensor made without naming the model's device lands there and is caught."""
    import torch.distributed as dist
    model = Classifier(RESNET)
    (xt, yt), (xv, yv) = digits
    seen = []

    def recording(collective):
        def wrapper(tensor, *args, **kwargs):
            seen.append((collective.__name__, tensor.device))
            return collective(tensor, *args, **kwargs)
        return wrapper

    dist.init_process_group('gloo', init_method=f'file://{tmp_path}/store', rank=0, world_size=1)
    try:
        evaluate = ClassificationEvaluator(model, batches(xt, yt, 48, count=2),
                                           batches(xv, yv, 64, count=2), num_recal_batches=2,
                                           sharded=True)
        reference = evaluate((1, 2, 1, 1))
        for name in ('all_reduce', 'broadcast'):
            monkeypatch.setattr(dist, name, recording(getattr(dist, name)))
        with torch.device('meta'):
            score = evaluate((1, 2, 1, 1))
    finally:
        dist.destroy_process_group()
    assert {name for name, _ in seen} == {'all_reduce', 'broadcast'}
    assert all(device == torch.device('cpu') for _, device in seen), seen
    assert score == reference


class Killed(Exception):
    """Stands for the report's process being killed mid-way through a frontier."""


class KilledAfter:
    """An evaluator that stops after ``count`` allocations, and counts what it evaluates."""

    def __init__(self, evaluator, count=None):
        self.evaluator, self.count, self.evaluated = evaluator, count, []

    @property
    def last_per_image(self):
        return self.evaluator.last_per_image

    def evaluate_all(self, allocations):
        for allocation, score in self.evaluator.evaluate_all(allocations):
            if len(self.evaluated) == self.count:
                raise Killed
            self.evaluated.append(allocation)
            yield allocation, score


def test_frontier_records_resume_where_a_killed_run_stopped(digits, tmp_path):
    # The report keeps a frontier's records as they come: a run killed after 7 allocations
    # resumes with the rest only, and the records equal an uninterrupted run's bit for bit
    # (each prefix's features and BatchNorm statistics are its own, whichever subset is walked).
    from reproduce.searches import frontier_records
    cached, _ = evaluators(Classifier(RESNET, head_bn=True), digits, metric='loss')
    frontier = [tuple(d + 1 for d in a) for a in np.ndindex(*RESNET.max_depths) if sum(a) == 3]
    whole = frontier_records(cached, frontier, tmp_path / 'whole.npz')

    path = tmp_path / 'per_image.npz'
    killed = KilledAfter(cached, count=7)
    with pytest.raises(Killed):
        frontier_records(killed, frontier, path, save_every=0)
    assert not path.exists() and path.with_name('per_image.so_far.npz').exists()
    resumed = KilledAfter(cached)
    records = frontier_records(resumed, frontier, path, save_every=0)
    assert len(resumed.evaluated) == len(frontier) - 7
    assert not set(resumed.evaluated) & set(killed.evaluated)
    for key in ('correct', 'loglik'):
        assert np.array_equal(records[key], whole[key]), key
    assert not path.with_name('per_image.so_far.npz').exists()
    # kept whole now: a third run evaluates nothing
    again = KilledAfter(cached, count=0)
    assert np.array_equal(frontier_records(again, frontier, path)['loglik'], whole['loglik'])
