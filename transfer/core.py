"""The entry point: :func:`transfer_weights`."""
from __future__ import annotations

import inspect
import time
import warnings
from contextlib import contextmanager
from fnmatch import fnmatchcase

import torch
import torch.nn as nn

from .dpiat import DPIAT
from .hmt import HMT
from .report import TensorRecord, TransferReport
from .similarity import similarity
from .tli import TLI
from .units import Network

# A plain dict, not an mmengine Registry: transfer is pure torch, and configs only name a method
# (search_cfg.transfer_method), checked against these keys; nothing is built from a config dict.
METHODS = {'dpiat': DPIAT, 'hmt': HMT, 'tli': TLI}


class IncompleteTransferError(RuntimeError):
    """``strict=True`` or ``min_coverage=`` was not met; the target was not modified.

    The full report is in ``.report``; ``.missing`` lists the untouched and skipped tensors.
    """

    def __init__(self, message: str, report: TransferReport):
        super().__init__(message)
        self.report = report
        self.missing = report.untouched + report.skipped


def transfer_weights(source: nn.Module, target: nn.Module, method: str = 'dpiat', *,
                     exclude=(), strict: bool = False, min_coverage: float | None = None,
                     min_similarity: float | None = None, **opts) -> TransferReport:
    """Initialize ``target`` in place from ``source`` with HMT, DPIAT or TLI.

    Works for any two modules (timm, torchvision, mmdet backbones, super-network subnets); the
    forward may return tensors, tuples or dicts. New values are computed into a copy of the
    target's state dict and loaded in one ``load_state_dict`` at the end, so an error or a
    failed check leaves ``target`` exactly as it was.

    Args:
        source: the trained network (only read).
        target: the network to initialize (modified in place).
        method: ``'dpiat'`` (paper 002), ``'hmt'`` (paper 000) or ``'tli'`` (paper 003).
        exclude: glob patterns of target state-dict keys to leave alone (e.g. ``'fc.*'`` for a
            head with other classes); they do not count in the coverage.
        strict: raise :class:`IncompleteTransferError` if any target tensor is left untouched or
            skipped.
        min_coverage: raise the same if less than this fraction of target tensors is covered.
        min_similarity: refuse a source less similar than this (:func:`transfer.similarity`):
            warn and return a report with nothing transferred.
        **opts: the method's options — hmt: ``align``; tli: ``lam``, ``top_k``,
            ``temperature``, ``bn``, ``weights``; dpiat has none.

    Returns:
        :class:`TransferReport`: per target tensor its source tensor, operation and covered
        fraction, and totals; ``print(report)`` shows a table, ``report.to_json()`` saves it.

    Example:
        >>> import timm
        >>> src, dst = timm.create_model('resnet18'), timm.create_model('resnet34')
        >>> report = transfer_weights(src, dst, 'dpiat')
        >>> report.coverage
        1.0
        >>> report['layer1.2.conv1.weight'].source       # resnet34's 3rd block from the 2nd
        'layer1.1.conv1.weight'
    """
    algorithm = _build_method(method, opts)
    for argument, value in (('source', source), ('target', target)):
        if not isinstance(value, nn.Module):
            raise TypeError(f'{argument}: expected an nn.Module, got {type(value).__name__}')
    if min_coverage is not None and not 0 <= min_coverage <= 1:
        raise ValueError(f'min_coverage={min_coverage}: allowed 0..1')
    exclude = (exclude,) if isinstance(exclude, str) else tuple(exclude)

    with _one_thread():
        return _transfer(source, target, method, algorithm, exclude, strict, min_coverage,
                         min_similarity)


@contextmanager
def _one_thread():
    """A transfer is hundreds of small tensor ops: intra-op threads would only add
    synchronization (docs/transfer.md#speed)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _transfer(source, target, method, algorithm, exclude, strict, min_coverage, min_similarity):
    start = time.perf_counter()
    src, dst = Network(source), Network(target)
    sim, plan, notes = None, None, []
    if min_similarity is not None:
        sim = similarity(source, target)
        if sim < min_similarity:
            notes.append(f'refused: similarity {sim:.3f} < min_similarity {min_similarity}; '
                         'the target keeps its initialization')
            warnings.warn(notes[-1], stacklevel=3)
    if not notes:
        plan = algorithm.match(src, dst)
        notes += plan.notes
    state, records = _apply(plan, algorithm, src, dst, exclude)
    report = TransferReport(method, _model_name(source), _model_name(target), records,
                            time.perf_counter() - start, sim, notes)
    if report.num_transferred == 0 and plan is not None:
        warnings.warn(f'{method}: nothing in {report.source} fits {report.target}; '
                      'coverage is 0 and the target keeps its initialization', stacklevel=3)
    missing = report.untouched + report.skipped
    if strict and missing:
        raise IncompleteTransferError(
            f'{method}: {len(missing)} of {report.num_tensors} target tensors were not '
            f'transferred (strict=True): {missing}', report)
    if min_coverage is not None and report.coverage < min_coverage:
        raise IncompleteTransferError(
            f'{method}: coverage {report.coverage:.1%} < min_coverage {min_coverage:.1%}; '
            f'not transferred: {missing}', report)
    target.load_state_dict(state)
    return report


def _build_method(method, opts):
    if method not in METHODS:
        raise ValueError(f'method={method!r}: allowed {", ".join(map(repr, METHODS))}')
    cls = METHODS[method]
    allowed = list(inspect.signature(cls).parameters)
    unknown = sorted(set(opts) - set(allowed))
    if unknown:
        raise TypeError(f'method {method!r} has no option(s) {unknown}; allowed: '
                        f'{allowed or "none"}')
    return cls(**opts)


def _apply(plan, method, src: Network, dst: Network, exclude: tuple):
    """Compute every transferred tensor into a new state dict; one record per target tensor.
    ``plan=None``: the source was refused."""
    state, records = dict(dst.state), []
    for unit in dst.units:
        sources = plan.sources.get(unit.name) if plan else None
        status, reason = plan.reasons.get(unit.name, ('untouched', 'not matched')) if plan \
            else ('untouched', 'source refused')
        for local, key in unit.keys.items():
            tensor = dst.state[key]
            record = TensorRecord(key, tuple(tensor.shape), 'untouched')
            records.append(record)
            if any(fnmatchcase(key, pattern) for pattern in exclude):
                record.status, record.reason = 'excluded', 'matches exclude'
            elif not sources:
                record.status, record.reason = status, reason
            elif not tensor.is_floating_point() and local != 'num_batches_tracked':
                record.status, record.reason = 'skipped', f'{tensor.dtype} buffer, not a weight'
            else:
                found = [(src.unit[s].keys[local], w) for s, w in sources
                         if local in src.unit[s].keys]
                if not found:
                    record.reason = f'{sources[0][0]} has no {local!r}'
                    continue
                try:
                    state[key], record.op, record.covered = _mix(method, src, found, tensor,
                                                                 unit.kind)
                except ValueError as error:
                    record.status, record.reason = 'skipped', str(error)
                    continue
                total = sum(w for _, w in found)
                record.status = 'transferred'
                record.sources = tuple((k, w / total) for k, w in found)
                record.source_shape = tuple(src.state[record.source].shape)
    return state, records


def _mix(method, src: Network, found: list, dst: torch.Tensor, kind: str) -> tuple:
    """Adapt each source tensor to ``dst`` and mix them by weight (TLI's Eq. 2)."""
    if not dst.is_floating_point():  # num_batches_tracked: a count, taken from the top source
        value = src.state[max(found, key=lambda kw: kw[1])[0]]
        if value.shape != dst.shape:
            raise ValueError(f'count of shape {tuple(value.shape)} for {tuple(dst.shape)}')
        return value.to(dst.dtype).clone(), 'copy', 1.0
    if len(found) == 1:
        return method.adapt(src.state[found[0][0]], dst, kind)
    total = sum(w for _, w in found)
    value, covered = torch.zeros(dst.shape), 0.0
    for key, weight in found:
        out, _, part = method.adapt(src.state[key], dst, kind)
        value += (weight / total) * out.float()
        covered += (weight / total) * part
    return value.to(dst.dtype), 'combo', covered


def _model_name(model: nn.Module) -> str:
    cfg = getattr(model, 'pretrained_cfg', None) or {}
    return cfg.get('architecture') or type(model).__name__
