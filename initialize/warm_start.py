"""Warm start: a super-network initialised from pretrained networks instead of from scratch.

Every stage of a super-network has a prefix that standard networks hold: torchvision's
ResNet-152 is [3, 8, 36, 3] inside [8, 10, 36, 14], MobileNetV2 [2, 3, 4, 3, 3] and MnasNet
[3, 3, 3, 2, 4] inside [5, 6, 8, 7, 7]. The blocks a source has are copied exactly (stem,
downsample, BatchNorm statistics, head); every other block is filled by a rule:

* ``identity``: the block keeps its own initialisation, but the last BatchNorm of its residual
  branch gets γ = β = 0, so the block passes its input through and a subnet deeper than the source
  computes what the source computes (its new blocks start as zero branches, as in
  zero-init-residual training);
* ``repeat``: a copy of the stage's last block that a source holds;
* a transfer method (``dpiat``, ``hmt``, ``tli``): the whole super-network is first initialised
  from the first source by weight transfer, and the blocks that fit are copied over it.

With several sources, each tensor comes from the first source that holds it (give the deepest
first)::

    warm = init_from('resnet_bottleneck', ['resnet152.pth'], fill='identity')
    warm.model.set_allocation((3, 8, 36, 3))  # computes the source's features
    warm.save('work_dirs/supernet_r152.pth')  # train_supernet.py --load-from takes it
"""
from __future__ import annotations

import datetime
import json
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from common.checkpoint import atomic_save, atomic_write_text
from supernet.build import build_backbone
from supernet.spaces import format_allocation, get_space
from transfer import METHODS, transfer_weights

from .sources import BLOCK_KEY, Source, checked_sources, read_source

BLOCK_RULES = ('identity', 'repeat')  # fill from the space's own blocks
FILL_RULES = (*BLOCK_RULES, *sorted(METHODS))


class WarmStart:
    """A super-network being initialised, with the origin of every tensor.

    Args:
        space: the super-network's search space.
        seed: seeds the initialisation the blocks no source has start from.
    """

    def __init__(self, space, seed: int = 0):
        self.space = get_space(space)
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.model = build_backbone(self.space)
        self.seed = seed
        self.records = OrderedDict((key, TensorOrigin(key)) for key in self.model.state_dict())
        self.head: dict = {}
        self.sources: list = []
        self.fill = None
        self.covered = {stage.name: 0 for stage in self.space.stages}  # blocks from sources

    def fit_problem(self, source: Source) -> str | None:
        """What keeps ``source`` from being copied into this space, in one line (None: it fits)."""
        space, template = self.space, self.model.state_dict()
        family = 'inverted_residual' if space.stages[0].block == 'inverted_residual' else 'resnet'
        prefix = f'source {source.name} ({source.layout})'
        if source.family != family:
            return (f'{prefix} is of another family than space {space.name!r} ({family} '
                    'blocks); it is filled only by a transfer method (--fill dpiat|hmt|tli)')
        depths, stages = source.depths, {s.name: s for s in space.stages}
        for name, indices in depths.items():
            stage = stages.get(name)
            if stage is None:
                return f'{prefix} has stage {name}; space {space.name!r} has {", ".join(stages)}'
            if indices != list(range(len(indices))):
                return (f'{prefix}: stage {name} has blocks {indices}, not a prefix 0..n-1 of '
                        'blocks')
            if len(indices) > stage.max_depth or (not stage.searchable
                                                  and len(indices) != stage.default_depth):
                allowed = (f'at most {stage.max_depth}' if stage.searchable
                           else f'exactly {stage.default_depth} (a fixed stage)')
                return (f'{prefix}: stage {name} has {len(indices)} blocks; space '
                        f'{space.name!r} allows {allowed}')
        for name in stages:
            if name not in depths:
                return f'{prefix} has no blocks in stage {name}'
        for key in template:
            match = BLOCK_KEY.match(key)
            if (match is None or int(match[2]) < len(depths[match[1]])) \
                    and key not in source.state_dict:
                return f'{prefix} lacks {key}, which space {space.name!r} has (another block type)'
        for key, value in source.state_dict.items():
            if key not in template:
                return (f'{prefix} has {source.origin[key]} ({key}), which space {space.name!r}'
                        ' lacks (another block type)')
            if tuple(value.shape) != tuple(template[key].shape):
                return (f'{prefix}: {source.origin[key]} ({key}) has shape {tuple(value.shape)},'
                        f' space {space.name!r} needs {tuple(template[key].shape)} (other '
                        'widths, kernel or block type)')
        return None

    def require_fit(self, sources) -> None:
        for source in sources:
            problem = self.fit_problem(source)
            if problem:
                raise ValueError(problem)

    def copy(self, source: Source, head: bool = True) -> None:
        """Copy every tensor of ``source`` that no earlier source gave (``source`` must fit:
        :meth:`fit_problem`)."""
        state = self.model.state_dict()
        with torch.no_grad():
            for key, value in source.state_dict.items():
                if self.records[key].rule != 'copy':
                    state[key].copy_(value)
                    self.records[key] = TensorOrigin(key, f'{source.name}:{source.origin[key]}',
                                                     'copy', 'copy', 1.0)
        for stage, indices in source.depths.items():
            self.covered[stage] = max(self.covered[stage], len(indices))
        if head:
            for key, value in source.head.items():
                self.head.setdefault(key, (value, f'{source.name}:{source.origin[key]}'))
        self.sources.append(source)

    def fill_blocks(self, rule: str) -> None:
        """Fill every block past the sources' depth with ``rule`` (:data:`BLOCK_RULES`)."""
        if rule not in BLOCK_RULES:
            raise ValueError(f'fill={rule!r}: allowed {", ".join(BLOCK_RULES)}')
        state = self.model.state_dict()
        for stage in self.space.searched:
            last = self.covered[stage.name] - 1
            for index in range(last + 1, stage.max_depth):
                block = getattr(self.model, stage.name)[index]
                new = f'{stage.name}.{index}.'
                if rule == 'identity':
                    self._zero_branch(block, new, state)
                    continue
                with torch.no_grad():
                    for key in [k for k in state if k.startswith(new)]:
                        copied = f'{stage.name}.{last}.{key[len(new):]}'
                        state[key].copy_(state[copied])
                        self.records[key] = TensorOrigin(key, self.records[copied].source,
                                                         'repeat', 'copy', 1.0)
        self.fill = rule

    def _zero_branch(self, block: nn.Module, prefix: str, state: dict) -> None:
        if getattr(block, 'downsample', None) is not None or \
                not getattr(block, 'use_res_connect', True):
            raise ValueError(f'{prefix[:-1]} has no identity shortcut; fill=identity needs one')
        last_norm = [name for name, m in block.named_modules() if isinstance(m, _BatchNorm)][-1]
        zeroed = {f'{prefix}{last_norm}.weight', f'{prefix}{last_norm}.bias'}
        with torch.no_grad():
            for key in zeroed:
                state[key].zero_()
        for key in (k for k in state if k.startswith(prefix)):
            self.records[key] = TensorOrigin(key, None, 'identity',
                                             'zero' if key in zeroed else 'init', 0.0)

    def source_backbone(self, source: Source) -> nn.Module:
        """``source`` as the subnet of its depths in this space (it must fit)."""
        depths = source.depths
        allocation = tuple(len(depths[s.name]) for s in self.space.searched)
        backbone = build_backbone(self.space, allocation)
        backbone.load_state_dict(source.state_dict, strict=True)
        return backbone

    # ------------------------------------------------------------------------------ results

    @property
    def source_allocations(self) -> dict:
        return {s.name: format_allocation(len(s.depths[st.name]) for st in self.space.searched)
                for s in self.sources if all(st.name in s.depths for st in self.space.searched)}

    def manifest(self) -> dict:
        """Per tensor: target, source tensor, rule, op, covered — and totals."""
        records = list(self.records.values())
        rules: dict = {}
        for record in records:
            rules[record.rule] = rules.get(record.rule, 0) + 1
        from_sources = sum(r.covered > 0 for r in records)
        return dict(space=self.space.name, sources=[s.name for s in self.sources],
                    source_allocations=self.source_allocations, fill=self.fill, seed=self.seed,
                    num_tensors=len(records), coverage=from_sources / len(records),
                    rules=rules, head={key: source for key, (_, source) in self.head.items()},
                    left_out={s.name: s.ignored for s in self.sources if s.ignored},
                    tensors=[asdict(r) for r in records])

    def table(self) -> str:
        """Per stage: blocks, how many a source gave, how the others were filled."""
        rows = [('stage', 'blocks', 'from sources', 'filled')]
        for stage in self.space.stages:
            covered = self.covered[stage.name]
            filled = stage.max_depth - covered
            rows.append((stage.name, str(stage.max_depth), str(covered),
                         f'{filled} by {self.fill}' if filled else '-'))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = ['  '.join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
        info = self.manifest()
        lines.append(f'{info["coverage"]:.1%} of {info["num_tensors"]} tensors from '
                     f'{", ".join(info["sources"])}; rules: {info["rules"]}; head: '
                     f'{", ".join(info["head"]) or "none"}')
        for name, keys in info['left_out'].items():
            lines.append(f'left out of {name}: {len(keys)} tensors ({", ".join(keys[:3])}'
                         f'{", ..." if len(keys) > 3 else ""})')
        return '\n'.join(lines)

    def save(self, out, manifest=None) -> Path:
        """Write the super-network checkpoint (``backbone.*`` and the sources' ``head.*``, meta
        with the space) that ``train_supernet.py --load-from``, ``greedy_search.py --checkpoint``
        and ``extract_subnet.py`` take; the manifest goes to ``manifest`` (default: OUT with
        ``.manifest.json``)."""
        out = Path(out)
        state = OrderedDict((f'backbone.{k}', v) for k, v in self.model.state_dict().items())
        state.update((key, value) for key, (value, _) in self.head.items())
        meta = dict(space=self.space.name, max_depths=list(self.space.max_depths),
                    time=datetime.datetime.now().isoformat(),
                    warm_start=dict(sources=[s.name for s in self.sources], fill=self.fill,
                                    seed=self.seed, source_allocations=self.source_allocations))
        atomic_save({'state_dict': state, 'meta': meta}, out)
        manifest = Path(manifest) if manifest else out.with_suffix('.manifest.json')
        atomic_write_text(manifest, json.dumps(self.manifest(), indent=1) + '\n')
        return manifest


@dataclass
class TensorOrigin:
    """Where one tensor of the super-network came from: ``rule`` is ``copy`` (a source's block),
    a fill rule (``identity``, ``repeat``, a transfer method) or ``init`` (its initialisation)."""
    target: str
    source: str | None = None
    rule: str = 'init'
    op: str = 'init'
    covered: float = 0.0


def init_from(space, sources, fill: str = 'identity', seed: int = 0, head: bool = True,
              **transfer_options) -> WarmStart:
    """A super-network of ``space`` initialised from ``sources`` (see the module doc).

    With ``identity`` or ``repeat``, every source must fit the space: its blocks are copied and
    the rest filled by the rule. With a transfer method (``dpiat``, ``hmt``, ``tli``), the whole
    super-network is first initialised from the first source by
    :func:`transfer.transfer_weights` — from the subnet of its depths when it fits the
    space, else from the network its library builds (``timm:NAME=PATH``,
    ``torchvision:NAME=PATH`` or an ``nn.Module``); then the blocks of every source that fits are
    copied over it exactly. A source of another family, other widths or a non-prefix layout is
    thus filled only through an explicitly chosen method.

    Args:
        space: ``'resnet_bottleneck'``, ``'mobilenet_v2'``, ``'mnasnet'`` (or any space).
        sources: specs (``'torchvision:resnet152:IMAGENET1K_V2'``, ``'timm:resnet50=r50.pth'``,
            a checkpoint path), ``nn.Module`` s or state dicts; earlier ones win.
        fill: one of :data:`FILL_RULES`, for the blocks no source has.
        seed: seeds the initialisation of the blocks no source has.
        head: also keep the sources' classifier as ``head.fc.*``.
        **transfer_options: passed to :func:`transfer.transfer_weights` (e.g. TLI's ``lam``).

    Raises:
        ValueError: in one line, a source that does not fit the space (another family, other
            widths, deeper than the space, not a prefix) without a transfer method, or an
            unknown rule.
    """
    if fill not in FILL_RULES:
        raise ValueError(f'fill={fill!r}: allowed {", ".join(FILL_RULES)}')
    if fill in BLOCK_RULES and transfer_options:
        raise ValueError(f'options {sorted(transfer_options)} are for transfer methods; '
                         f'fill={fill!r} takes none')
    space = get_space(space)
    sources = [read_source(s) for s in checked_sources(sources)]
    warm = WarmStart(space, seed)
    if fill in BLOCK_RULES:
        warm.require_fit(sources)
        for source in sources:
            warm.copy(source, head)
        warm.fill_blocks(fill)
        return warm
    problems = [warm.fit_problem(source) for source in sources]
    first, first_problem = sources[0], problems[0]
    for source, problem in zip(sources[1:], problems[1:]):
        if problem:  # only the first source is transferred from; the others are copied
            raise ValueError(f'{problem}; only the first source may differ from the space')
    if first_problem and first.module is None:
        raise ValueError(f'{first_problem}; to transfer from it, name its architecture: '
                         'timm:NAME=PATH or torchvision:NAME=PATH')
    network = first.module if first_problem else warm.source_backbone(first)
    report = transfer_weights(network, warm.model, fill, **transfer_options)
    # the source's own key names where the transfer read the backbone built from them
    names = {} if first_problem else first.origin
    for record in report.records:
        if record.status == 'transferred':
            source_key = names.get(record.source, record.source)
            warm.records[record.target] = TensorOrigin(
                record.target, f'{first.name}:{source_key}', fill, record.op, record.covered)
    for source, problem in zip(sources, problems):
        if problem:
            warm.sources.append(source)
        else:
            warm.copy(source, head)
    warm.fill = fill
    return warm
