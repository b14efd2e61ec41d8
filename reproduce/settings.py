"""How big each part of the report is: the full run and the reduced one the tests use."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

# source -> target, names of analysis.smallnets.SOURCE_NETS and TARGET_NETS
TRANSFER_PAIRS = (('resnet18/4', 'resnet10x3/8'), ('resnet18/4', 'resnet(2,2,8,2)/4'),
                  ('mbv2/2', 'mnasnet(2x5)/2'), ('resnet18/4', 'mnasnet(2x5)/2'))


@dataclass(frozen=True)
class Settings:
    """Sizes of every step. ``FULL`` is the default run, ``REDUCED`` the test's.

    Source super-network (Fashion-MNIST, ``configs/demo/supernet_resnet_fashion.py``):
        source_train_per_class, source_val_per_class: images written per class.
        supernet_iters, supernet_batch: training iterations and batch (skipped with a given
            checkpoint).
    Target (digits, ``configs/demo/search_digits.py`` and ``finetune_child_digits.py``):
        target_images: first N training (and test) images of the digits used; None: all.
        target_finetune_epochs: super-network fine-tuning on the target before the search.
        recal_batches: BatchNorm recalibration batches per search candidate.
        budget: the size C (blocks) every search and the architecture study work at.
        search_seeds: seeds of the random and evolutionary searches (``seed + i``).
        architecture_count: allocations of size C fine-tuned for the Fig. 1 study.
        child_epochs: fine-tuning epochs of every child (Fig. 1 and inheritance).
    Heterogeneous transfer (in-memory tensors, ``reproduce.hetero``):
        transfer_pairs, transfer_source_images, transfer_source_epochs, transfer_target_images,
        transfer_test_images, transfer_epochs, transfer_size.
    Effective receptive field: erf_images (digits averaged over), erf_size (input side).
    """
    mode: str
    source_train_per_class: int = 2000
    source_val_per_class: int = 200
    supernet_iters: int = 600
    supernet_batch: int = 64
    target_images: int | None = None
    target_finetune_epochs: int = 8
    recal_batches: int = 8
    budget: int = 16
    search_seeds: int = 5
    architecture_count: int = 6
    child_epochs: int = 8
    batch: int = 64
    num_workers: int = 1
    transfer_pairs: tuple = TRANSFER_PAIRS
    transfer_source_images: int = 8000
    transfer_source_epochs: int = 2
    transfer_target_images: int = 500
    transfer_test_images: int = 600
    transfer_epochs: int = 3
    transfer_size: int = 24
    erf_images: int = 16
    erf_size: int = 64

    def replace(self, **changes) -> 'Settings':
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


FULL = Settings(mode='full')
REDUCED = Settings(
    mode='reduced', source_train_per_class=12, source_val_per_class=4, supernet_iters=6,
    supernet_batch=16, target_images=240, target_finetune_epochs=1, recal_batches=2, budget=6,
    search_seeds=2, architecture_count=3, child_epochs=2, batch=32, num_workers=0,
    transfer_pairs=TRANSFER_PAIRS[:3], transfer_source_images=200, transfer_source_epochs=1,
    transfer_target_images=100, transfer_test_images=100, transfer_epochs=1, transfer_size=16,
    erf_images=2, erf_size=32)
