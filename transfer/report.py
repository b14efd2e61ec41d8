"""What a transfer did to every target tensor: :class:`TransferReport`.

Each target state-dict entry gets one :class:`TensorRecord` with a status:

* ``transferred`` — written from ``sources`` by ``op`` (``copy``, ``center_crop``, ``resize``,
  ``kernel_interp``, ``cyclic_stack``, ``kernel_interp+cyclic_stack``, ``combo``), ``covered``
  being the fraction of its entries that now come from the source;
* ``untouched`` — the method handles it but found nothing to put there (``reason`` says why);
* ``skipped`` — the method does not handle it (an integer index buffer, a rank mismatch,
  TLI with ``bn=False``);
* ``excluded`` — matched one of the caller's ``exclude`` patterns; left out of the totals.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from common.checkpoint import atomic_write_text

STATUSES = ('transferred', 'untouched', 'skipped', 'excluded')


@dataclass
class TensorRecord:
    target: str
    target_shape: tuple
    status: str
    op: str = ''
    sources: tuple = ()          # ((source key, weight), ...); several for TLI's top-K mix
    source_shape: tuple | None = None
    covered: float = 0.0
    reason: str = ''

    @property
    def source(self) -> str | None:
        """The source tensor (the heaviest one when several were mixed)."""
        return max(self.sources, key=lambda s: s[1])[0] if self.sources else None


@dataclass
class TransferReport:
    """Per-tensor provenance of a transfer plus totals.

    ``coverage`` is the fraction of target tensors (excluded ones aside) that received anything;
    ``element_coverage`` weighs each by its size and by the part of it that was written.
    """
    method: str
    source: str
    target: str
    records: list
    seconds: float = 0.0
    similarity: float | None = None
    notes: list = field(default_factory=list)

    def __getitem__(self, target_key: str) -> TensorRecord:
        for record in self.records:
            if record.target == target_key:
                return record
        raise KeyError(f'{target_key!r} is not a tensor of the target')

    def _counted(self):
        return [r for r in self.records if r.status != 'excluded']

    def _with(self, status):
        return [r.target for r in self.records if r.status == status]

    @property
    def num_tensors(self) -> int:
        return len(self._counted())

    @property
    def num_transferred(self) -> int:
        return len(self._with('transferred'))

    @property
    def coverage(self) -> float:
        return self.num_transferred / self.num_tensors if self.num_tensors else 0.0

    @property
    def element_coverage(self) -> float:
        sizes = [(_numel(r.target_shape), r.covered) for r in self._counted()]
        total = sum(n for n, _ in sizes)
        return sum(n * c for n, c in sizes) / total if total else 0.0

    @property
    def untouched(self) -> list:
        return self._with('untouched')

    @property
    def skipped(self) -> list:
        return self._with('skipped')

    @property
    def ops(self) -> dict:
        """How many tensors each operation produced."""
        counts: dict = {}
        for record in self._counted():
            key = record.op or record.status
            counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))

    def summary(self) -> str:
        sim = '' if self.similarity is None else f', similarity {self.similarity:.3f}'
        return (f'{self.method}: {self.source} -> {self.target}: {self.num_transferred}/'
                f'{self.num_tensors} tensors ({self.coverage:.1%}), {self.element_coverage:.1%} '
                f'of elements; untouched {len(self.untouched)}, skipped {len(self.skipped)}'
                f'{sim}; {self.seconds:.2f} s')

    def table(self, max_rows: int | None = None) -> str:
        """A fixed-width table: target tensor, shape, source tensor, shape, op, covered."""
        rows = [('target tensor', 'shape', 'source tensor', 'shape', 'op', 'covered')]
        for r in self.records[:max_rows]:
            source = r.source or ''
            if len(r.sources) > 1:
                source += f' (+{len(r.sources) - 1})'
            label = r.op or (f'{r.status}: {r.reason}' if r.reason else r.status)
            rows.append((r.target, _fmt(r.target_shape), source, _fmt(r.source_shape), label,
                         f'{r.covered:.0%}'))
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = ['  '.join(c.ljust(w) for c, w in zip(row[:5], widths)) + '  ' + row[5]
                 for row in rows]
        lines.insert(1, '-' * len(lines[0]))
        if max_rows is not None and len(self.records) > max_rows:
            lines.append(f'... {len(self.records) - max_rows} more')
        return '\n'.join(lines)

    def __str__(self):
        return f'{self.table()}\n{self.summary()}'

    def to_dict(self) -> dict:
        return {
            'method': self.method, 'source': self.source, 'target': self.target,
            'seconds': self.seconds, 'similarity': self.similarity,
            'num_tensors': self.num_tensors, 'num_transferred': self.num_transferred,
            'coverage': self.coverage, 'element_coverage': self.element_coverage,
            'ops': self.ops, 'untouched': self.untouched, 'skipped': self.skipped,
            'notes': list(self.notes), 'tensors': [asdict(r) for r in self.records],
        }

    def to_json(self, path=None, indent: int = 2) -> str:
        """The report as JSON; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            atomic_write_text(path, text + '\n')
        return text


def _numel(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _fmt(shape) -> str:
    return '' if shape is None else 'x'.join(map(str, shape)) or 'scalar'
