"""The decision log: every decision a gateway made, for audit and replay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from foureyes.store.backend import Opener, sqlite
from foureyes.store.behind import WrittenBehind
from foureyes.store.chain import Chain, json_text
from foureyes.store.sealing import AtRest

# Facts kept clear: they name no person, and the statistics read them with json_extract
# (store/rollup.py). Every other text (customer id, account, names, `extra` attributes) is
# sealed; numbers and flags stay clear.
CLEAR_FACTS = frozenset({"channel", "transaction.code", "transaction.currency", "outlet.id",
                         "transaction.account_status", "customer.segment", "operator.id",
                         "operator.level"})

DECISION_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    at REAL NOT NULL,
    channel TEXT NOT NULL,
    request_key TEXT NOT NULL,
    outcome TEXT NOT NULL,
    scene TEXT NOT NULL,
    case_id TEXT NOT NULL,
    rules_version TEXT NOT NULL,
    fired TEXT NOT NULL,
    facts TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_at ON decisions(at);
"""

class DecisionLog(WrittenBehind):
    """Every decision a gateway made, with the facts the rules saw and the rule-set version,
    for audit and for replaying a candidate rule set against real traffic.

    Written behind the answer: a decision that needed a case is durable in the case store
    before the channel hears of it; this log is the record of all of them.
    """

    def __init__(self, path: Path, at_rest: AtRest | None = None,
                 opener: Opener = sqlite) -> None:
        keys = at_rest or AtRest.development()
        self.sealer = keys.sealer
        super().__init__(opener(path, DECISION_SCHEMA, False, Chain(path.stem, keys.chain_key)),
                         "INSERT INTO decisions (at, channel, request_key, outcome, scene, case_id, "
                         "rules_version, fired, facts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         "decision")

    def _sealed(self, facts: dict[str, Any]) -> dict[str, Any]:
        return {k: self.sealer.seal(v) if isinstance(v, str) and k not in CLEAR_FACTS
                and not k.startswith("param.") else v for k, v in facts.items()}

    def _opened(self, facts: dict[str, Any]) -> dict[str, Any]:
        return {k: self.sealer.open(v) if isinstance(v, str) else v for k, v in facts.items()}

    def record(self, at: float, channel: str, request_key: str, outcome: str, scene: str,
               case_id: str, rules_version: str, fired: list[str], facts: dict[str, Any]) -> None:
        self.append((at, channel, self.sealer.seal(request_key), outcome, scene, case_id,
                     rules_version, json.dumps(fired),
                     json_text(self._sealed(facts))))

    async def since(self, start: float, end: float = float("inf")) -> list[dict[str, Any]]:
        rows = await self.db.read(
            "SELECT at, channel, request_key, outcome, scene, case_id, rules_version, fired, facts "
            "FROM decisions WHERE at >= ? AND at < ? ORDER BY at", (start, end))
        return [{"at": at, "channel": ch, "request_key": self.sealer.open(key), "outcome": outcome,
                 "scene": scene, "case_id": case_id, "rules_version": version,
                 "fired": json.loads(fired), "facts": self._opened(json.loads(facts))}
                for at, ch, key, outcome, scene, case_id, version, fired, facts in rows]
