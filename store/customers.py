"""Customers' recent transactions, for the rules' history counters.

Stored under blind indexes (store/sealing.py): the customer id and the request key as their
keyed hashes, so the file names no customer and a lookup by id still finds the rows."""

from __future__ import annotations

import json
from pathlib import Path

from foureyes.store.backend import Opener, sqlite
from foureyes.store.sealing import AtRest

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

    def __init__(self, path: Path, at_rest: AtRest | None = None,
                 opener: Opener = sqlite) -> None:
        self.sealer = (at_rest or AtRest.development()).sealer
        self.db = opener(path, CUSTOMER_SCHEMA, True, None)

    async def open(self) -> None:
        await self.db.open()

    def key_of(self, request_key: str) -> str:
        """How a request key is kept (and compared, to count a retry once): blinded."""
        return self.sealer.blind(request_key)

    async def record(self, rows: list[tuple[str, str, float, dict[str, float]]]) -> None:
        await self.db.write([(
            "INSERT OR IGNORE INTO customer_tx (customer_id, key, at, counters) VALUES (?, ?, ?, ?)",
            (self.sealer.blind(cid), key, at, json.dumps(counters)),
        ) for cid, key, at, counters in rows])

    async def since(self, customer_ids: list[str], since: float
                    ) -> list[tuple[str, str, float, dict[str, float]]]:
        blinded = {self.sealer.blind(c): c for c in customer_ids}
        marks = ",".join("?" * len(blinded))
        rows = await self.db.read(
            f"SELECT customer_id, key, at, counters FROM customer_tx "
            f"WHERE customer_id IN ({marks}) AND at >= ? ORDER BY at", (*blinded, since))
        return [(blinded[c], k, at, json.loads(js)) for c, k, at, js in rows]

    async def close(self) -> None:
        await self.db.close()
