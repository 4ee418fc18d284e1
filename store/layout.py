"""How many shards a data directory holds, kept beside its databases.

A case or customer lives in the shard its key hashes to, so a data directory must be opened
with the shard counts it was made with: with fewer, the open cases of the missing shards would
never be loaded; with other counts, keys would be looked for in the wrong files. The counts are
recorded at first start (`layout.json`); later starts use them, and refuse counts that differ.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from foureyes.errors import FoureyesError

FILE = "layout.json"
KINDS = {"case_shards": "cases", "customer_shards": "customers"}  # setting -> database prefix


class LayoutMismatch(FoureyesError):
    """The shard counts asked for differ from those the data directory was made with."""


def default_case_shards() -> int:
    """One case host per two cores: on two cores, a second host costs more in messages
    between processes than it adds (measured: benchmarks, README "Performance")."""
    return max(1, (os.cpu_count() or 2) // 2)


def resolve(data_dir: Path, case_shards: int = 0, customer_shards: int = 0) -> tuple[int, int]:
    """The shard counts to run with; 0 asks for the default: what the directory holds, else
    the built-in default."""
    asked = {"case_shards": case_shards, "customer_shards": customer_shards}
    path = data_dir / FILE
    if path.exists():
        held = {k: int(v) for k, v in json.loads(path.read_text()).items() if k in KINDS}
    else:  # made before the layout was recorded: count the shard files
        held = {k: n for k, prefix in KINDS.items()
                if (n := len(list(data_dir.glob(f"{prefix}-*.sqlite"))))}
    defaults = {"case_shards": default_case_shards(), "customer_shards": 1}
    counts = {}
    for key in KINDS:
        want, have = asked[key], held.get(key)
        if want and have and want != have:
            flag = "--" + key.replace("_", "-")
            raise LayoutMismatch(
                f"{data_dir} was made with {flag} {have}, and its {KINDS[key]} are spread over "
                f"{have} databases by key; start with {flag} {have} (or without {flag}), "
                f"or use another --data-dir")
        counts[key] = want or have or defaults[key]
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(counts) + "\n")
    return counts["case_shards"], counts["customer_shards"]
