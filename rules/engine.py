"""The only module that talks to durable_rules.

durable_rules 2.0.28 is unmaintained and has sharp edges (see DESIGN.md, "Measured pitfalls"):
at most 1024 sessions per ruleset, a background thread that segfaults after delete_state,
ruleset names that can never be registered twice. So: one session, the background thread
disabled, each request asserted as a fact and retracted again, and every compiled rule set
registered under a name of its own.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import durable_rules_engine
from durable import engine as durable
from foureyes.rules.conditions import FACT_MARK, Condition, anchored, to_durable

_names = itertools.count(1)


class _Host(durable.Host):
    def __init__(self, actions: Mapping[str, Callable[[Any], None]]) -> None:
        self._actions = actions
        super().__init__()

    def _run(self) -> None:
        # The dispatcher thread only serves timers and queued actions, which we do not use,
        # and it crashes the process after delete_state.
        pass

    def get_action(self, action_name: str) -> Callable[[Any], None]:
        return self._actions[action_name]


class DurableRules:
    """A compiled set of named conditions; `matches(facts)` returns the names that hold."""

    def __init__(self, label: str, rules: Iterable[tuple[str, Condition]]) -> None:
        self._fired: list[str] = []
        definition: dict[str, Any] = {}
        actions: dict[str, Callable[[Any], None]] = {}
        self._mark = False  # whether facts carry FACT_MARK, for rules that need it
        for i, (name, cond) in enumerate(rules):
            key = f"r{i}"
            match = to_durable(cond)
            if not anchored(cond):
                match = {"$and": [{"$ex": {FACT_MARK: 1}}, match]}
                self._mark = True
            definition[key] = {"all": [{"m": match}], "run": key}
            actions[key] = self._recorder(name)
        self.size = len(definition)
        self._name = f"{label}#{next(_names)}"
        self._host = _Host(actions)
        # One session, one writer: assert-collect-retract must be one step even if a caller
        # (a CLI tool, a test) evaluates from more than one thread.
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._ruleset: Any = None
        if definition:
            self._host.set_rulesets({self._name: definition})
            self._ruleset = self._host.get_ruleset(self._name)

    def _recorder(self, name: str) -> Callable[[Any], None]:
        def record(_closure: Any) -> None:
            self._fired.append(name)

        return record

    def matches(self, facts: Mapping[str, Any], owned: bool = False) -> list[str]:
        """`owned`: the caller hands over a dict of its own, so it need not be copied."""
        if not self.size:
            return []
        fact = facts if owned and isinstance(facts, dict) else dict(facts)
        with self._lock:
            fact["id"] = next(self._ids)  # identical facts would otherwise be deduplicated
            if self._mark:
                fact[FACT_MARK] = 1
            self._fired.clear()
            text = json.dumps(fact, ensure_ascii=False)  # once, for the assert and the retract
            self._step(durable_rules_engine.assert_fact, text)
            # no rule matched or some did, the fact is stored: retract it all the same
            self._step(durable_rules_engine.retract_fact, text)
            return list(self._fired)

    def _step(self, call: Callable[[int, str], tuple[int, int]], text: str) -> None:
        """What durable's Host.assert_fact and retract_fact do, given the fact's JSON: they
        encode the fact again for each call, and once more for the exception they raise when no
        rule matched (a third of a NOT_REQUIRED decision's rule time went to that)."""
        code, state = call(self._ruleset._handle, text)
        if code == 1:  # no rule matched (durable raises MessageNotHandledException)
            return
        if code == 2:
            raise durable.MessageObservedException(text)
        failed: list[BaseException] = []
        self._ruleset.do_actions(0 if code == 3 else state,
                                 lambda error, _state: failed.append(error) if error else None)
        if failed:
            raise failed[0]
