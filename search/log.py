"""The search log: one JSON line per evaluated candidate, append-only and fsynced.

The greedy search adds one line per step once the step is settled, ``{"pick": {...}}``: the
allocation it took for that size, its score and what the score is (``score_name``, e.g.
``"held-out log-likelihood"``), out of how many candidates. A resumed search that takes the same
again writes nothing new; one that takes another (another beam, another seed) adds its own.

A search killed at any moment resumes from its log: re-opening the file loads every finished
evaluation, and the searches ask the log before they evaluate. A line counts once its newline is
on disk; an unterminated last line (the process died mid-write) is dropped with a warning and cut
from the file, so that candidate is evaluated again and nothing else is.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), 'search.jsonl')
    >>> log = SearchLog(path, meta={'space': 'resnet_basic'})
    >>> log.append(Record((1, 2, 1, 1), 0.5, flops=10, params=3, seconds=0.1, step=1))
    >>> SearchLog(path).get((1, 2, 1, 1)).score
    0.5
    >>> print(open(path).read().splitlines()[1])
    {"allocation": [1, 2, 1, 1], "score": 0.5, "flops": 10, "params": 3, "seconds": 0.1, "step": 1, "method": "", "transferred": null}
    >>> log.append_pick({'step': 1, 'allocation': [1, 2, 1, 1], 'score': 0.5})
    >>> SearchLog(path).picks, len(SearchLog(path))
    ([{'step': 1, 'allocation': [1, 2, 1, 1], 'score': 0.5}], 1)
"""
from __future__ import annotations

import json
import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

from supernet.spaces import format_allocation


@dataclass(frozen=True)
class Record:
    """One evaluated candidate. ``score`` is ``None`` only for unevaluated chain entries.

    ``transferred`` is ``None`` for a subnet of the super-network (inherited weights); for a
    candidate past the super-network's depth it says how its weights were made, e.g.
    ``{'method': 'dpiat', 'source': [3, 4, 6, 3], 'coverage': 1.0}`` (see
    :class:`search.transfer_candidates.TransferringEvaluator`). Logs written before this field
    existed load with ``None``.
    """
    allocation: tuple
    score: float | None
    flops: int | None = None
    params: int | None = None
    seconds: float = 0.0
    step: int = 0
    method: str = ''
    transferred: dict | None = None

    @property
    def label(self) -> str:
        """``'1-3-7-5'``, with ``*`` when the weights came from a transfer (``transferred``)."""
        return format_allocation(self.allocation) + ('*' if self.transferred else '')

    def to_dict(self) -> dict:
        return dict(asdict(self), allocation=list(self.allocation))

    @classmethod
    def from_dict(cls, data: dict) -> 'Record':
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**dict(fields, allocation=tuple(int(d) for d in data['allocation'])))


class SearchLog:
    """Evaluated candidates of a search, in a JSONL file at ``path``.

    Args:
        path: the log file; created (with its folder) when missing, resumed when present.
        meta (dict | None): what the scores depend on (space, checkpoint, data, evaluator). It is
            the first line of a new log; re-opening a log whose first line gives any of these
            keys another value raises ValueError, so scores of another setting are never reused.
        read_only: read the file (if any) but never write it; new records stay in memory. For
            the ranks of a distributed search other than the one that writes the log.
    """

    def __init__(self, path, meta: dict | None = None, read_only: bool = False):
        self.path = Path(path)
        self.meta = meta
        self.read_only = read_only
        self._records: dict = {}
        self.picks: list = []  # the "pick" lines, in file order
        if read_only:
            if self.path.exists():
                self._load()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()
        if not self._load() and meta is not None:
            self._write({'meta': meta})

    def _load(self) -> bool:
        """Read the file; return whether it had any complete line."""
        data = self.path.read_bytes()
        end = data.rfind(b'\n') + 1
        if end < len(data) and not self.read_only:  # the writer died mid-line
            warnings.warn(f'{self.path}: dropping an incomplete last line '
                          f'({len(data) - end} bytes); that candidate will be evaluated again')
            with open(self.path, 'r+b') as f:
                f.truncate(end)
                f.flush()
                os.fsync(f.fileno())
        lines = data[:end].decode().splitlines()
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                record = None if 'meta' in entry or 'pick' in entry else Record.from_dict(entry)
            except (ValueError, KeyError, TypeError) as err:
                raise ValueError(f'{self.path}, line {number}: not a search record ({err}): '
                                 f'{line[:200]!r}') from None
            if 'meta' in entry:
                self._check_meta(entry['meta'])
            elif 'pick' in entry:
                self.picks.append(entry['pick'])
            else:
                self._records.setdefault(record.allocation, record)
        return bool(lines)

    def _check_meta(self, stored: dict):
        if self.meta is None:
            return
        differ = [k for k in self.meta if stored.get(k) != self.meta[k]]
        if differ:
            raise ValueError(f'{self.path} was written for different settings: '
                             + '; '.join(f'{k}: log has {stored.get(k)!r}, now {self.meta[k]!r}'
                                         for k in differ)
                             + '. Use another log file for another setting.')

    def _write(self, entry: dict):
        if self.read_only:
            return
        with open(self.path, 'a') as f:
            f.write(json.dumps(entry) + '\n')
            f.flush()
            os.fsync(f.fileno())

    def append(self, record: Record):
        """Write ``record`` and fsync; an allocation already in the log is an error."""
        if record.allocation in self._records:
            raise ValueError(f'{self.path}: allocation {record.allocation} is already logged')
        self._write(record.to_dict())
        self._records[record.allocation] = record

    def append_pick(self, pick: dict):
        """Write a ``{"pick": pick}`` line (a greedy step's outcome) unless the log has it."""
        pick = json.loads(json.dumps(pick))  # tuples as lists: compared with the loaded ones
        if pick in self.picks:  # a resumed search replays the steps it had settled
            return
        self._write({'pick': pick})
        self.picks.append(pick)

    def get(self, allocation) -> Record | None:
        return self._records.get(tuple(allocation))

    def __contains__(self, allocation) -> bool:
        return tuple(allocation) in self._records

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self):
        return iter(self._records.values())

    def __repr__(self):
        return f'SearchLog({str(self.path)!r}, {len(self)} records)'
