"""How big each part of the report is: the full run and the reduced one the tests use."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

# source -> target, names of analysis.smallnets.SOURCE_NETS and TARGET_NETS
TRANSFER_PAIRS = (('resnet18/4', 'resnet10x3/8'), ('resnet18/4', 'resnet(2,2,8,2)/4'),
                  ('mbv2/2', 'mnasnet(2x5)/2'), ('resnet18/4', 'mnasnet(2x5)/2'))


# the source step's teacher (Settings.source_distill)
SOURCE_TEACHERS = ('none', 'alone', 'largest')


@dataclass(frozen=True)
class _Source:
    """Source super-network (the five Fashion-MNIST classes that are not tops,
    ``configs/demo/supernet_resnet_fashion_split.py``): images written per class, training
    iterations and batch (skipped with a given checkpoint), and the BatchNorm recalibration
    batches of a source subnet (its validation and the x axis of Fig. 1): the source has
    thousands of training images, where the target's few allow ``recal_batches`` only. With
    ``warm_start`` the super-network starts from the default allocation trained alone on the
    source (the headline's start iii, trained first) instead of random init, as a user starts
    from published weights (``ReportContext._warm_start``), then trains as usual.
    ``supernet_recipe`` names how the super-network trains (``engine.recipes.RECIPES``:
    ``uniform``, one subnet drawn per step, the paper's; ``sandwich``, the largest, two drawn
    and the smallest per step; ``sandwich_distill``, with inplace distillation from the
    largest); a recipe that costs more per step holds compute through ``supernet_iters``
    (``benchmarks/supernet_recipes.py`` measures the ratio)."""
    mode: str
    source_train_per_class: int = 4000
    source_val_per_class: int = 400
    supernet_iters: int = 600
    supernet_batch: int = 64
    source_recal_batches: int = 8
    warm_start: bool = False
    supernet_recipe: str = 'uniform'


@dataclass(frozen=True)
class _Search(_Source):
    """Target search (the five tops, ``configs/demo/search_tops.py``): images per class of the
    target's parts (train, search, rescore, test; ``archdata.prepare_tops_target``);
    super-network fine-tuning epochs on the target before the search; BatchNorm recalibration
    batches per candidate; the size C (blocks) every search and the architecture study work at;
    target seeds (``seed + i``: the target's draw of images, the fine-tuning and the random and
    evolutionary searches); the headline's mean ± std and paired SE are over them."""
    target_per_class: tuple = (30, 400, 400, 400)
    target_finetune_epochs: int = 40
    recal_batches: int = 2
    budget: int = 16
    seeds: int = 5


@dataclass(frozen=True)
class _Subnets(_Search):
    """Subnet fine-tuning (``configs/demo/finetune_subnet_tops.py``): allocations of size C
    fine-tuned for the Fig. 1 study, epochs of every subnet (Fig. 1, inheritance and the
    searches' picks), batch and dataloader workers."""
    architecture_count: int = 6
    subnet_epochs: int = 8
    batch: int = 64
    num_workers: int = 1


@dataclass(frozen=True)
class _Headline(_Subnets):
    """The headline (``reproduce.headline``): greedy's pick, the default allocation and the
    exhaustive pick of C blocks fine-tuned on the target from inherited weights and, with
    ``source_step``, from inherited weights fine-tuned on the source first (paper 004, Sec. 3.4:
    ``configs/demo/finetune_subnet_fashion_split.py`` for ``source_finetune_iters`` iterations of
    ``supernet_batch``, its recipe, which says why); the default also from the subnet trained
    alone on the source (``configs/demo/train_subnet_fashion_split.py``: the super-network's
    recipe, iterations and batch, so as many source images). ``alone_count`` allocations are
    trained alone to compare with their inherited source top-1 (diagnostic 3a: the default, the
    first seed's picks, then section 1's allocations). ``source_distill`` makes the source step
    learn from a frozen teacher as well (``configs/demo/finetune_subnet_fashion_split_distill.py``:
    soft labels and stage features): ``'alone'``, the default trained alone (start iii, a
    user's published network), or ``'largest'``, the super-network's largest subnet;
    ``'none'``: the labels only. ``source_finetune_lr`` replaces the step's peak learning rate
    (``None``: the config's, a tenth of the super-network's)."""
    source_step: bool = True
    source_finetune_iters: int = 200
    source_distill: str = 'none'
    source_finetune_lr: float | None = None
    alone_count: int = 4


@dataclass(frozen=True)
class _Transfer(_Headline):
    """Heterogeneous transfer (in-memory tensors, ``reproduce.hetero``, the tops target):
    source -> target pairs, source training images (the classes that are not tops) and epochs,
    the target's labelled training images and test images (totals over the five tops, a fifth
    per class: multiples of 5), target epochs, side; every target seed (``transfer_seeds``, the
    first of the searches' seeds: the section does not need the headline's count) fine-tunes
    anew. The regime ``benchmarks/transfer_effectiveness.py`` chose by the pretraining gap
    alone (docs/benchmarks.md#transfer-effectiveness), where pretraining matters on one target.
    The section runs in the report's second process, beside the searches. 1,000 test images
    and testing every 4th epoch (and the last) keep its testing short: a test costs more than
    an epoch on a few labelled images."""
    transfer_pairs: tuple = TRANSFER_PAIRS
    transfer_seeds: int = 3
    transfer_source_images: int = 24000
    transfer_source_epochs: int = 2
    transfer_target_images: int = 25
    transfer_test_images: int = 1000
    transfer_epochs: int = 12
    transfer_evaluate_every: int = 4
    transfer_size: int = 24


@dataclass(frozen=True)
class Settings(_Transfer):
    """Sizes of every step, one group per base class above (flat attributes, e.g.
    ``settings.budget``). ``FULL`` is the default run, ``REDUCED`` the test's. Effective
    receptive field: ``erf_images`` (target images averaged over), ``erf_size`` (input side)."""
    erf_images: int = 16
    erf_size: int = 64

    def __post_init__(self):
        from engine.recipes import RECIPES  # the recipes' one home
        if self.supernet_recipe not in RECIPES:
            raise ValueError(f'supernet_recipe={self.supernet_recipe!r}: one of '
                             f'{", ".join(RECIPES)}')
        if self.source_distill not in SOURCE_TEACHERS:
            raise ValueError(f'source_distill={self.source_distill!r}: one of '
                             f'{", ".join(SOURCE_TEACHERS)}')

    def replace(self, **changes) -> 'Settings':
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


FULL = Settings(mode='full')
REDUCED = Settings(
    mode='reduced', source_train_per_class=12, source_val_per_class=4, supernet_iters=6,
    supernet_batch=16, target_per_class=(8, 12, 12, 12), target_finetune_epochs=1,
    source_recal_batches=2, recal_batches=2, budget=6, seeds=2, architecture_count=3,
    subnet_epochs=2, batch=16, num_workers=0, source_finetune_iters=2, alone_count=2,
    transfer_seeds=2,
    transfer_pairs=TRANSFER_PAIRS[:3], transfer_source_images=200, transfer_source_epochs=1,
    transfer_target_images=100, transfer_test_images=100, transfer_epochs=1, transfer_size=16,
    erf_images=2, erf_size=32)
