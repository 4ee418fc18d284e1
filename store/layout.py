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
from typing import Any

from foureyes.errors import FoureyesError, MissingStore

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
    _write(data_dir, {**_read(data_dir), **counts})
    return counts["case_shards"], counts["customer_shards"]


def _read(data_dir: Path) -> dict[str, Any]:
    path = data_dir / FILE
    held: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    return held


def _write(data_dir: Path, held: dict[str, Any]) -> None:
    tmp = data_dir / (FILE + ".tmp")
    tmp.write_text(json.dumps(held, sort_keys=True) + "\n")
    tmp.replace(data_dir / FILE)


def made(data_dir: Path) -> set[str]:
    """The shard databases (`cases-0`, ...) recorded as made: each must be found again."""
    return set(_read(data_dir).get("made", []))


def nodes(data_dir: Path) -> dict[str, str]:
    """shard database -> the node (its disk, see `disk_of`) that holds its file."""
    return dict(_read(data_dir).get("nodes", {}))


def record(data_dir: Path, shards: list[str], placed: dict[str, str]) -> None:
    """After the first start that made them: these databases exist, on these nodes. Nodes
    already recorded are kept (a shard never moves: its file does not)."""
    held = _read(data_dir)
    held["made"] = sorted(set(held.get("made", [])) | set(shards))
    held["nodes"] = {**placed, **held.get("nodes", {})}
    _write(data_dir, held)


def require(path: Path, must_exist: bool) -> None:
    """Refuse, rather than make an empty database, when a recorded one is not there."""
    if must_exist and not path.exists():
        raise MissingStore(
            f"{path} is not served: the data directory's {FILE} records it as made, and it "
            f"is not on this node; start its host on the node that holds it (or restore the "
            f"file), never on an empty one")
