"""COCO bbox mAP of a super-network detector's subnets: the detection evaluator of the search.

:class:`DetectionEvaluator` turns an mmengine ``Runner`` built from a super-network detector config
(e.g. ``configs/detection/faster_rcnn_supernet_fpn_coco.py``: an mmdet detector whose backbone is
a :mod:`supernet` super-network) into ``evaluate(allocation) -> float`` for
:func:`search.greedy_search` and the baselines. A candidate's score:

1. set the super-network's allocation;
2. if the backbone's BatchNorm statistics are not frozen, re-estimate them on a fixed set of
   target *training* batches (:func:`common.batchnorm.recalibrate_bn`);
3. predict the runner's validation dataloader (a validation subset) and score it with the
   runner's ``val_evaluator`` — mmdet's ``CocoMetric`` — taking ``coco/bbox_mAP``.

Statistics, train/eval flags and the allocation are restored afterwards, so the model can go on
training or be checkpointed. :meth:`DetectionEvaluator.score_backbone` scores a subnet
swapped into the detector the same way (for candidates deeper than the super-network, see
:mod:`search.transfer_candidates`). The seconds of steps 2 and 3 are kept per candidate in
:attr:`DetectionEvaluator.timings`.

Under ``torchrun`` the ranks split the recalibration batches of the one sequence a single process
would read (:func:`engine.evaluators.recalibration_batches`; any count: shares differ by a batch
at most) and average their statistics weighted by their batch counts, which gives exactly one
process's statistics; each scores its shard of the validation loader (mmengine's
``DefaultSampler``), and mmengine's ``Evaluator`` gathers the predictions through a folder in the
work dir (:func:`engine.launch.collect_in_work_dir`), so every rank gets the same score.
"""
from __future__ import annotations

import contextlib
import io
import time
import warnings

import torch
from mmengine.dist import get_world_size

from common.batchnorm import (average_across_ranks, batchnorms, preserved_bn_stats,
                              recalibrate_bn, restored_modes)
from engine.hooks import find_supernet
from search.evaluator import swapped_backbone
from search.protocol import SuperNetEvaluator

from .evaluators import EVALUATORS, check_bool, check_count, recalibration_batches, unwrapped
from .launch import collect_in_work_dir

RECALIBRATE = ('auto', True, False)


@EVALUATORS.register_module(name='detection')
class DetectionEvaluator(SuperNetEvaluator):
    """``evaluate(allocation) -> COCO bbox mAP`` of a super-network detector (see the module doc).

    Args:
        runner (mmengine.runner.Runner): built from a super-network detector config. Used: its
            ``model`` (an mmdet detector, possibly DDP-wrapped, whose backbone is a super-network
            such as ``ResNetSuperNet``), its validation loop's dataloader and evaluator
            (``val_dataloader`` / ``val_evaluator``: the images scoring candidates and mmdet's
            ``CocoMetric``), and its ``train_dataloader`` config (recalibration batches, read
            through a fresh loader in a seeded order).
        num_recal_batches (int): training batches that re-estimate BatchNorm statistics (under
            torchrun: in all, any count, split between the processes); read once, the same for
            every candidate, and not at all when no BatchNorm is recalibrated. Default: 20.
        recalibrate ('auto' | bool): ``'auto'`` (default) recalibrates the BatchNorms whose
            statistics fine-tuning updates — those in train mode after ``model.train()``, i.e.
            none with ``norm_eval=True``, and none of ``frozen_stages`` — so each candidate is
            scored as its detector would train; ``True``: every BatchNorm; ``False``: none.
        metric (str): key of the evaluator's results used as the score (higher is better).
            Default: ``'coco/bbox_mAP'``; e.g. ``'coco/segm_mAP'`` for Mask-RCNN.
        quiet (bool): hide pycocotools' per-candidate summary print-out (mmengine's log lines
            stay). Default: True.

    Attributes:
        timings (list[dict]): per evaluated candidate, ``allocation``, ``recalibration`` and
            ``evaluation`` seconds.
        results (dict): allocation -> every metric of its evaluation.

    Example (``configs/demo/supernet_faster_rcnn_glyphs.py`` on the embedded glyph set)::

        from mmengine.config import Config
        from search import SearchLog, greedy_search
        from engine.detection import DetectionEvaluator
        from engine.launch import build_runner

        runner = build_runner(Config.fromfile('configs/demo/supernet_faster_rcnn_glyphs.py'))
        runner.train()                                   # fine-tune with depth sampling
        evaluate = DetectionEvaluator(runner, num_recal_batches=10)
        result = greedy_search('resnet_bottleneck_demo', 16, evaluate,
                               log=SearchLog('work_dirs/detection_search.jsonl'))
        result.best.allocation, evaluate.timings[-1]
    """

    def __init__(self, runner, num_recal_batches: int = 20, recalibrate='auto',
                 metric: str = 'coco/bbox_mAP', quiet: bool = True):
        if recalibrate not in RECALIBRATE:
            raise ValueError(f'recalibrate={recalibrate!r}: allowed {RECALIBRATE}')
        self.model = unwrapped(runner.model)
        self.supernet = find_supernet(self.model)
        self.metric, self.quiet, self.recalibrate = metric, quiet, recalibrate
        if runner.cfg.get('val_dataloader') is None or runner.cfg.get('val_evaluator') is None:
            raise ValueError('the config needs val_dataloader and val_evaluator: the search '
                             'scores candidates on them')
        loop = runner.val_loop
        self.dataloader, self.evaluator = loop.dataloader, loop.evaluator
        _check_ground_truth(self.evaluator, self.dataloader.dataset)
        collect_in_work_dir(self.evaluator, runner.work_dir)  # not ./.dist_test: nodes share it
        self.recal_bns = self._recalibrated_bns(recalibrate)
        self.num_recal_batches, self.recal_batches = num_recal_batches, []
        if self.recal_bns:
            if num_recal_batches < 1:
                raise ValueError(f'num_recal_batches={num_recal_batches}: must be >= 1')
            self.recal_batches = recalibration_batches(runner, num_recal_batches)
        # A detector's heads have no BatchNorm (mmdet's R-CNNs): the backbone and neck suffice.
        inner = {id(m) for part in (self.model.backbone, getattr(self.model, 'neck', None))
                 if part is not None for m in part.modules()}
        self._features_only = all(id(m) in inner for m in self.recal_bns)
        self.timings, self.results = [], {}

    def _recalibrated_bns(self, recalibrate) -> list:
        if recalibrate is False:
            return []
        if recalibrate is True:
            return batchnorms(self.model)
        with restored_modes(self.model):
            self.model.train()
            return [m for m in batchnorms(self.model) if m.training]

    @torch.no_grad()
    def __call__(self, allocation) -> float:
        """Score of one allocation (recalibration, then validation); nothing else changes."""
        allocation = self.supernet.space.validate(allocation)
        previous = self.supernet.allocation
        try:
            self.supernet.set_allocation(allocation)
            return self._measure(allocation, self.recal_bns)
        finally:
            self.supernet.set_allocation(previous)

    @torch.no_grad()
    def score_backbone(self, backbone: torch.nn.Module, allocation) -> float:
        """Score of a static ``backbone`` of ``allocation`` standing in for the super-network (a
        candidate deeper than it, initialized by weight transfer); recalibrated as
        ``recalibrate`` says and validated as :meth:`__call__` does. The detector's backbone is
        the super-network again afterwards, its state untouched."""
        allocation = tuple(allocation)
        with swapped_backbone(self.model, backbone.to(next(self.model.parameters()).device)):
            bns = self._recalibrated_bns(self.recalibrate) if self.recal_bns else []
            return self._measure(allocation, bns)

    def _measure(self, allocation: tuple, bns: list) -> float:
        """Recalibrate ``bns`` and validate the model as it is; restore statistics and modes."""
        with preserved_bn_stats(self.model), restored_modes(self.model):
            start = time.perf_counter()
            self._recalibrate(bns)
            middle = time.perf_counter()
            metrics, detections = self._evaluate()
            end = time.perf_counter()
        self.timings.append(dict(allocation=allocation, recalibration=middle - start,
                                 evaluation=end - middle))
        self.results[allocation] = metrics
        if self.metric in metrics:
            return float(metrics[self.metric])
        if detections == 0:  # CocoMetric reports nothing when no box was predicted at all
            warnings.warn(f'allocation {allocation}: no detections on the validation set; '
                          f'scoring {self.metric} as 0')
            return 0.0
        raise KeyError(f'metric={self.metric!r} is not among the evaluator results '
                       f'{sorted(metrics)}')

    def _recalibrate(self, bns: list | None = None):
        """Re-estimate ``bns`` (default: the super-network detector's, ``recal_bns``)."""
        bns = self.recal_bns if bns is None else bns
        if not bns:
            return
        model = self.model

        def forward(batch):
            data = model.data_preprocessor(batch, False)
            if self._features_only:
                return model.extract_feat(data['inputs'])
            return model(**data, mode='tensor')

        recalibrate_bn(model, self.recal_batches, forward, bns=bns)
        if get_world_size() > 1:  # each rank saw its own share; they agree on the mean
            average_across_ranks(bns, len(self.recal_batches), self.num_recal_batches)

    @classmethod
    def check_options(cls, options: dict, cfg=None):
        """``search_cfg.evaluator``'s values, before any model is built
        (:func:`engine.pipeline.check_evaluator_options`); ``cfg``: the search config, whose
        ``val_evaluator`` says which metric names the score can take."""
        recalibrate = options.get('recalibrate', 'auto')
        if not (recalibrate == 'auto' or isinstance(recalibrate, bool)):
            raise ValueError(f'search_cfg.evaluator.recalibrate={recalibrate!r}: allowed '
                             "'auto', True, False")
        check_count(options, 'num_recal_batches', 0 if recalibrate is False else 1)
        check_bool(options, 'quiet')
        metric = options.get('metric', 'coco/bbox_mAP')
        allowed = coco_metric_names(cfg.get('val_evaluator')) if cfg is not None else None
        if not isinstance(metric, str) or (allowed is not None and metric not in allowed):
            names = ', '.join(sorted(allowed)) if allowed else 'a metric name, e.g. coco/bbox_mAP'
            raise ValueError(f'search_cfg.evaluator.metric={metric!r}: allowed {names} (what '
                             'val_evaluator reports)')

    def _evaluate(self) -> tuple:
        """(metrics, number of predicted boxes on this rank) over the validation loader."""
        self.model.eval()
        detections = 0
        for batch in self.dataloader:
            outputs = self.model.val_step(batch)
            detections += sum(len(sample.pred_instances) for sample in outputs)
            self.evaluator.process(data_samples=outputs, data_batch=batch)
        quiet = contextlib.redirect_stdout(io.StringIO()) if self.quiet else \
            contextlib.nullcontext()
        with quiet:
            metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        return metrics, detections


COCO_ITEMS = ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l')
COCO_PROPOSAL_ITEMS = ('AR@100', 'AR@300', 'AR@1000', 'AR_s@1000', 'AR_m@1000', 'AR_l@1000')


def coco_metric_names(val_evaluator) -> set | None:
    """The result names mmdet's ``CocoMetric`` entries of ``val_evaluator`` (a config dict or a
    list of them) report, e.g. ``coco/bbox_mAP``; ``None`` when another metric type is among them
    or one reports per class (``classwise``): names not known before it runs."""
    entries = val_evaluator if isinstance(val_evaluator, (list, tuple)) else [val_evaluator]
    names = set()
    for entry in entries:
        if not isinstance(entry, dict) or entry.get('classwise') or \
                str(entry.get('type')).split('.')[-1] != 'CocoMetric':
            return None
        prefix = entry.get('prefix') or 'coco'
        kinds = entry.get('metric', 'bbox')
        items = entry.get('metric_items')
        for kind in [kinds] if isinstance(kinds, str) else kinds:
            if kind in ('bbox', 'segm'):
                names.update(f'{prefix}/{kind}_{item}' for item in items or COCO_ITEMS)
            elif kind == 'proposal':
                names.update(f'{prefix}/{item}' for item in items or COCO_PROPOSAL_ITEMS)
            elif kind == 'proposal_fast':
                names.update(f'{prefix}/AR@{n}'
                             for n in entry.get('proposal_nums', (100, 300, 1000)))
    return names


def _check_ground_truth(evaluator, dataset):
    """Refuse a CocoMetric whose annotation file lists images the loader does not score: it would
    count them as missed and shrink the mAP of every candidate."""
    for metric in getattr(evaluator, 'metrics', [evaluator]):
        coco = getattr(metric, '_coco_api', None)
        if coco is None:
            continue
        listed, scored = len(coco.get_img_ids()), len(dataset)
        if listed != scored:
            raise ValueError(
                f'val_evaluator.ann_file lists {listed} images but the validation dataloader '
                f'scores {scored}: CocoMetric would count the others as missed. For a subset, '
                "set val_evaluator.ann_file=None and add 'instances' to the meta_keys of the "
                "test pipeline's PackDetInputs (CocoMetric then takes the ground truth from the "
                'scored images), as configs/detection/faster_rcnn_supernet_fpn_coco.py does')
