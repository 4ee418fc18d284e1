"""Customers' recent transactions, for the rules' history counters."""

from __future__ import annotations

import json
from pathlib import Path

from foureyes.store.database import Database

CUSTOMER_SCHEMA = """
CREATE TABLE IF NOT EXISTS customer_tx (
    customer_id TEXT NOT NULL,
    key TEXT NOT NULL,
    at REAL NOT NULL,
    counters TEXT NOT NULL,
    PRIMARY KEY (customer_id, key)
);
CREATE INDEX IF NOT EXISTS customer_tx_at ON customer_tx(customer_id, at);
"""


class CustomerStore:
    """Each customer's recent transactions, as far as the history counters need them."""

    def __init__(self, path: Path) -> None:
        self.db = Database(path, CUSTOMER_SCHEMA, commit_on_loop=True)

    async def open(self) -> None:
        await self.db.open()

    async def record(self, rows: list[tuple[str, str, float, dict[str, float]]]) -> None:
        await self.db.write([(
            "INSERT OR IGNORE INTO customer_tx (customer_id, key, at, counters) VALUES (?, ?, ?, ?)",
            (cid, key, at, json.dumps(counters)),
        ) for cid, key, at, counters in rows])

    async def since(self, customer_ids: list[str], since: float
                    ) -> list[tuple[str, str, float, dict[str, float]]]:
        marks = ",".join("?" * len(customer_ids))
        rows = await self.db.read(
            f"SELECT customer_id, key, at, counters FROM customer_tx "
            f"WHERE customer_id IN ({marks}) AND at >= ? ORDER BY at", (*customer_ids, since))
        return [(c, k, at, json.loads(js)) for c, k, at, js in rows]

    async def close(self) -> None:
        await self.db.close()
