"""Fixed log-spaced duration buckets: percentiles that can be merged across hours.

A percentile of two hours is not a function of the two hours' percentiles, but a histogram
of two hours is the sum of their histograms. Every roll-up row keeps one count per bucket;
a query adds the rows up and reads p50/p90 off the merged counts. Ten buckets per decade
from 1 ms to 10^5 s (27.8 h): a reported percentile is the geometric middle of its bucket,
within 12.2 % of the exact value (nearest rank); the mean and the maximum are exact (sum,
count, max are kept beside the buckets).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

PER_DECADE = 10
LOWEST = 1e-3  # seconds: bucket 0 holds everything shorter
HIGHEST = 1e5  # seconds: the last bucket holds everything longer
BUCKETS = round(math.log10(HIGHEST / LOWEST) * PER_DECADE) + 2
RESOLUTION = 10 ** (1 / (2 * PER_DECADE)) - 1  # 0.122: the largest relative error


def bucket_of(seconds: float) -> int:
    if seconds < LOWEST:
        return 0
    k = int(math.log10(seconds / LOWEST) * PER_DECADE) + 1
    return min(k, BUCKETS - 1)


def middle_of(k: int) -> float:
    """The value a bucket stands for: the geometric middle of its bounds."""
    if k == 0:
        return LOWEST / 2
    return LOWEST * 10 ** ((k - 0.5) / PER_DECADE)


def percentile(counts: Sequence[int], q: float, longest: float) -> float:
    """The nearest-rank q-quantile (the ceil(q·n)-th smallest value) as its bucket's middle,
    never above the exact maximum."""
    return percentiles(counts, (q,), longest)[0]


def percentiles(counts: Sequence[int], qs: Sequence[float], longest: float) -> list[float]:
    """Several quantiles (ascending) in one pass over the buckets."""
    n = sum(counts)
    if n == 0:
        return [0.0] * len(qs)
    ranks = [max(1, math.ceil(q * n)) for q in qs]
    out: list[float] = []
    seen = 0
    for k, c in enumerate(counts):
        if not c:
            continue
        seen += c
        while len(out) < len(ranks) and seen >= ranks[len(out)]:
            out.append(min(middle_of(k), longest) if k < BUCKETS - 1 else longest)
        if len(out) == len(ranks):
            break
    return out + [longest] * (len(ranks) - len(out))


_COLUMNS = [f"b{k}" for k in range(BUCKETS)]
SUMS = "SUM(n), SUM(total), MAX(longest), " + ", ".join(f"SUM({b})" for b in _COLUMNS)


@dataclass(frozen=True)
class TimingTable:
    """A table of duration histograms keyed by `keys` (TEXT or INTEGER key columns named in
    `create`): count, sum, max and one column per bucket, added to by `upsert`."""

    create: str
    upsert: str


def timing_table(name: str, keys: Sequence[str], key_types: Sequence[str],
                 primary: Sequence[str] = ()) -> TimingTable:
    """`keys` in the order upsert takes them; `primary` the key's order in the table."""
    names = ", ".join(keys)
    pk = ", ".join(primary or keys)
    create = (
        f"CREATE TABLE IF NOT EXISTS {name} ("
        + "".join(f"{k} {t} NOT NULL, " for k, t in zip(keys, key_types, strict=True))
        + "n INTEGER NOT NULL, total REAL NOT NULL, longest REAL NOT NULL, "
        + "".join(f"{b} INTEGER NOT NULL DEFAULT 0, " for b in _COLUMNS)
        + f"PRIMARY KEY ({pk})) WITHOUT ROWID;")
    upsert = (
        f"INSERT INTO {name} ({names}, n, total, longest, {', '.join(_COLUMNS)}) "
        f"VALUES ({', '.join('?' * (len(keys) + 3 + BUCKETS))}) "
        f"ON CONFLICT ({pk}) DO UPDATE SET n = n + excluded.n, "
        "total = total + excluded.total, longest = max(longest, excluded.longest), "
        + ", ".join(f"{b} = {b} + excluded.{b}" for b in _COLUMNS))
    return TimingTable(create, upsert)
