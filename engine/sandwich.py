"""Several subnets per training step of a super-network classifier: BigNAS's sandwich rule and
inplace distillation (Yu et al. 2020), as options of the model a config builds.

Uniform sampling (paper 004, Sec. 3.2; the default) trains one subnet per step, S_i ~ U[1, N_i]:
block k of a stage then trains in (N_i - k + 1) / N_i of the steps, and the shared weights of
every subnet are tuned by its neighbours' gradients only. The sandwich rule trains, every step,
the largest subnet, ``random`` uniformly drawn ones and the smallest, and accumulates their
gradients into one update; with inplace distillation every subnet but the largest learns from
the largest's detached soft labels (so only the largest sees the labels, and the head's label
smoothing regularises the largest only).

Which subnets a step trains comes from ``(seed, iteration)`` (:func:`step_allocations`, drawn by
``DepthSamplingHook``; the recipes and their checks are :mod:`engine.recipes`, light to import),
so every DDP rank and a resumed run train the same ones. Under DDP the
gradients of all but the last subnet accumulate under ``no_sync`` and are reduced once, with the
last backward (:class:`SupernetDDP`): one all-reduce per step, and no parameter is marked ready
twice.

Written here rather than through mmrazor: its BigNAS algorithm is the model of this one, but
mmrazor does not import with the torch this project pins.
"""
from __future__ import annotations

from contextlib import nullcontext

import torch
import torch.nn.functional as F
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS, MODELS
from mmpretrain.models import ImageClassifier

from .hooks import find_supernet
from .recipes import RECIPES, check_inplace_distill, check_train_subnets, step_allocations

__all__ = ['RECIPES', 'SupernetClassifier', 'SupernetDDP', 'soft_label_loss', 'step_allocations']

def soft_label_loss(student: torch.Tensor, teacher: torch.Tensor,
                    temperature: float) -> torch.Tensor:
    """KL(softmax(teacher / T) || softmax(student / T)) · T², averaged over the batch (Hinton et
    al.: the T² keeps its gradients on the label loss's scale)."""
    return F.kl_div(F.log_softmax(student / temperature, dim=1),
                    F.softmax(teacher / temperature, dim=1),
                    reduction='batchmean') * temperature ** 2


@MODELS.register_module()
class SupernetClassifier(ImageClassifier):
    """mmpretrain's ``ImageClassifier`` around a super-network backbone, trained on several of
    its subnets per step.

    Args:
        train_subnets (dict): which subnets a step trains (:func:`step_allocations`):
            ``largest`` (bool), ``smallest`` (bool), ``random`` (how many drawn uniformly).
            Default: one random subnet, paper 004's uniform sampling. BigNAS's sandwich rule:
            ``dict(largest=True, smallest=True, random=2)``.
        inplace_distill (dict | None): every subnet after the largest learns from the
            largest's detached soft labels: ``temperature``, ``weight`` (share of the soft-label
            loss; ``1 - weight`` of the label loss stays). Needs ``largest=True``. Default: off.
        **kwargs: as ``ImageClassifier``.

    ``DepthSamplingHook`` sets :attr:`step_allocations` before every iteration.
    """

    def __init__(self, *args, train_subnets=None, inplace_distill=None, **kwargs):
        plan = check_train_subnets(train_subnets)
        distill = check_inplace_distill(inplace_distill, plan)
        super().__init__(*args, **kwargs)
        self.train_subnets, self.inplace_distill = plan, distill
        self.step_allocations: list | None = None

    def train_step(self, data, optim_wrapper):
        return self.train_subnets_step(data, optim_wrapper, wrapper=None)

    def train_subnets_step(self, data, optim_wrapper, wrapper=None) -> dict:
        """Train every subnet of :attr:`step_allocations` on ``data`` and update once.

        ``wrapper``: the DDP wrapper whose forward runs the model (gradients of all but the
        last subnet accumulate under its ``no_sync``), or ``None``.
        """
        if not self.step_allocations:
            raise RuntimeError('SupernetClassifier trains the subnets DepthSamplingHook sets '
                               "each iteration: add custom_hooks=[dict(type='DepthSamplingHook')]")
        model = wrapper if wrapper is not None else self
        supernet = find_supernet(self)
        with optim_wrapper.optim_context(model):
            data = self.data_preprocessor(data, True)
        roles = self._roles(len(self.step_allocations))
        soft_labels, log_vars, total = None, {}, 0.0
        for k, (role, allocation) in enumerate(zip(roles, self.step_allocations)):
            last = k == len(roles) - 1
            with nullcontext() if last or wrapper is None else wrapper.no_sync():
                with optim_wrapper.optim_context(model):
                    supernet.set_allocation(allocation)
                    logits = model(**data, mode='tensor')
                    loss = self._subnet_loss(role, logits, data['data_samples'], soft_labels)
                optim_wrapper.backward(optim_wrapper.scale_loss(loss))
            if not last:
                # OptimWrapper counts backwards as iterations (gradient accumulation, resume):
                # a step is one iteration however many subnets it trains
                optim_wrapper._inner_count -= 1
            if role == 'largest' and self.inplace_distill is not None:
                soft_labels = logits.detach()
            log_vars[f'loss_{role}'] = loss.detach()
            total = total + loss.detach()
        if optim_wrapper.should_update():
            optim_wrapper.step()
            optim_wrapper.zero_grad()
        log_vars = dict(loss=total, **log_vars) if len(roles) > 1 else dict(loss=total)
        return {name: value.item() for name, value in log_vars.items()}

    def _roles(self, count: int) -> list:
        """Names of a step's subnets, for the log: largest, random0.., smallest."""
        plan = self.train_subnets
        roles = (['largest'] if plan['largest'] else []) + \
            [f'random{i}' for i in range(plan['random'])] + \
            (['smallest'] if plan['smallest'] else [])
        if len(roles) != count:  # allocations set by hand rather than by the hook
            roles = [f'subnet{i}' for i in range(count)]
        return roles

    def _subnet_loss(self, role: str, logits, data_samples, soft_labels) -> torch.Tensor:
        # the head's own loss (label smoothing, mixup targets) on its scores: ImageClassifier's
        # loss mode would run the backbone a second time to get them
        labelled = lambda: sum(v for k, v in self.head._get_loss(logits, data_samples).items()  # noqa: E731
                               if 'loss' in k)
        if soft_labels is None:
            return labelled()
        distill = self.inplace_distill
        loss = distill['weight'] * soft_label_loss(logits, soft_labels, distill['temperature'])
        if distill['weight'] < 1:
            loss = loss + (1 - distill['weight']) * labelled()
        return loss


@MODEL_WRAPPERS.register_module()
class SupernetDDP(MMDistributedDataParallel):
    """mmengine's DDP wrapper whose training step is the model's own when it trains several
    subnets per step (:class:`SupernetClassifier`); any other model trains as usual."""

    def train_step(self, data, optim_wrapper):
        if isinstance(self.module, SupernetClassifier):
            return self.module.train_subnets_step(data, optim_wrapper, wrapper=self)
        return super().train_step(data, optim_wrapper)
