"""Published rule sets: every version ever published, and which one is active.

Layout in the data directory:

    rules/<version>/*.yaml     the files of each published version, never changed again
    rules/ACTIVE               the active version (replaced atomically)
    rules/history.jsonl        one line per activation: when, which version, why, who
                               proposed it and who approved it
    rules/proposals.jsonl      one line per proposal (a publish or a rollback) and per approval

With a shared store (`--database-url`) every file and line written here is also kept there
(store/rule_log.py): gateways on other machines `follow` it and become what it says.

Publishing is all-or-nothing: the candidate is loaded, validated and its tests run in a
staging directory; only a set that passes is moved in. Over the API a set is only proposed;
it becomes active when a second person, not the proposer, approves it (four eyes on rule
changes). Only the set a data directory first starts with (`--rules DIR`, or the bundled
rules) is activated by whoever starts the service, and recorded as such; `--rules DIR` on a
later start is a proposal like any other.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from foureyes.errors import Conflict, InvalidRequest, NotFound, PermissionDenied, RuleError, RuleSetError
from foureyes.rules import testing
from foureyes.rules.book import RuleBook
from foureyes.rules.files import contents
from foureyes.store.rule_log import Record, RuleLog

_FILE_NAME = re.compile(r"^[A-Za-z0-9_.\-]+\.yaml$")


@dataclass(frozen=True)
class Activation:
    version: str
    at: float  # when it became active; 0 for a proposal still pending
    comment: str
    trigger_rules: int
    proposed_by: str = ""
    approved_by: str = ""
    proposed_at: float = 0.0

    @property
    def pending(self) -> bool:
        return not self.at


class RuleRegistry:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "rules"
        self.root.mkdir(parents=True, exist_ok=True)
        # written here, not yet in the shared store (the gateway hands them over, and keeps
        # them until the store took them)
        self.unshared: list[Record] = []

    @property
    def active_version(self) -> str:
        path = self.root / "ACTIVE"
        return path.read_text().strip() if path.exists() else ""

    def history(self) -> list[Activation]:
        return [Activation(**entry) for entry in _lines(self.root / "history.jsonl")]

    def pending(self) -> list[Activation]:
        """Proposals not approved yet (a version proposed again counts once, the newest)."""
        waiting: dict[str, Activation] = {}
        for entry in _lines(self.root / "proposals.jsonl"):
            if entry.get("approved_by"):
                waiting.pop(entry["version"], None)
            else:
                waiting.pop(entry["version"], None)
                waiting[entry["version"]] = Activation(
                    entry["version"], 0.0, entry["comment"], entry["trigger_rules"],
                    entry["proposed_by"], "", entry["at"])
        return list(waiting.values())

    def load(self, version: str) -> RuleBook:
        directory = self.root / version
        if not version or not directory.is_dir():
            raise NotFound(f"rule set version {version!r} was never published here")
        return RuleBook.load(directory)

    def propose_files(self, files: dict[str, str], comment: str, by: str) -> Activation:
        """Validate, test and store a rule set given as {file name: content}; it waits for a
        second person's approval."""
        return self._propose(self._store(files), comment, by)

    def propose_rollback(self, version: str, comment: str, by: str) -> Activation:
        """Propose making `version` active again; by default the one active before this one."""
        if not version:
            current = self.active_version
            earlier = [a.version for a in self.history() if a.version != current]
            if not earlier:
                raise NotFound("there is no earlier rule set version to restore")
            version = earlier[-1]
        return self._propose(self.load(version), comment or f"rollback to {version}", by)

    def approve(self, version: str, by: str) -> RuleBook:
        proposal = next((p for p in self.pending() if p.version == version), None)
        if proposal is None:
            raise NotFound(f"rule set version {version!r} is not waiting for approval")
        if proposal.proposed_by == by:
            raise PermissionDenied("a rule change is approved by someone other than its proposer")
        self._append("proposals", {"version": version, "at": time.time(), "approved_by": by})
        return self._activate(self.load(version), proposal.comment, proposal.proposed_by, by,
                              proposal.proposed_at)

    def _propose(self, book: RuleBook, comment: str, by: str) -> Activation:
        if book.version == self.active_version:
            raise Conflict(f"rule set version {book.version} is the active one already")
        entry: dict[str, Any] = {"version": book.version, "at": time.time(), "comment": comment,
                 "trigger_rules": len(book.ruleset.triggers), "proposed_by": by}
        self._append("proposals", entry)
        return Activation(book.version, 0.0, comment, entry["trigger_rules"], by, "", entry["at"])

    def publish_files(self, files: dict[str, str], comment: str, by: str = "service start"
                      ) -> RuleBook:
        """Validate, test and activate at once: only for the set the service starts with."""
        return self._activate(self._store(files), comment, by, by, time.time())

    @contextlib.contextmanager
    def _staged(self, files: dict[str, str]) -> Iterator[Path]:
        """`files` written to a staging directory beside the versions, removed after (a
        version is moved in from it whole, or not at all)."""
        if not files:
            raise InvalidRequest("no rule files given")
        bad = sorted(n for n in files if not _FILE_NAME.match(n))
        if bad:
            raise InvalidRequest(f"rule file names must be plain *.yaml names: {', '.join(bad)}")
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.root))
        try:
            for name, content in files.items():
                (staging / name).write_text(content, encoding="utf-8")
            yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _store(self, files: dict[str, str]) -> RuleBook:
        with self._staged(files) as staging:
            try:
                book = RuleBook.load(staging)
                report = testing.run_tests(book, testing.load_tests(staging, book))
            except RuleSetError as e:  # name the files as the author sent them
                raise RuleSetError([RuleError(Path(p.file).name, p.line, p.rule_id, p.message)
                                    for p in e.problems]) from None
            if not report.ok:
                raise RuleSetError([
                    RuleError(Path(test.file).name, test.line, test.name,
                              "test failed: " + "; ".join(problems))
                    for test, problems in report.failed])
            self._move_in(staging, book.version)
        self.unshared.append(("files", {"version": book.version, "files": files}))
        return RuleBook.load(self.root / book.version)

    def _move_in(self, staging: Path, version: str) -> None:
        final = self.root / version
        if not final.exists():
            for f in staging.iterdir():
                _fsync(f)
            os.replace(staging, final)

    def propose_dir(self, directory: Path, comment: str, by: str) -> Activation | None:
        """Propose the set in `directory`; None when it is the active version already or is
        waiting for approval already (a restart with the same `--rules` proposes nothing)."""
        book = self._store(contents(directory))
        if book.version == self.active_version:
            return None
        if any(p.version == book.version for p in self.pending()):
            return None
        return self._propose(book, comment, by)

    def publish_dir(self, directory: Path, comment: str) -> RuleBook:
        return self.publish_files(contents(directory), comment)

    def _activate(self, book: RuleBook, comment: str, proposed_by: str, approved_by: str,
                  proposed_at: float) -> RuleBook:
        if book.version == self.active_version:
            return book
        self._set_active(book.version)
        self._append("history", {
            "version": book.version, "at": time.time(), "comment": comment,
            "trigger_rules": len(book.ruleset.triggers), "proposed_by": proposed_by,
            "approved_by": approved_by, "proposed_at": proposed_at})
        return book

    def _set_active(self, version: str) -> None:
        tmp = self.root / "ACTIVE.tmp"
        tmp.write_text(version + "\n")
        _fsync(tmp)
        os.replace(tmp, self.root / "ACTIVE")

    def _append(self, kind: str, entry: dict[str, Any]) -> None:
        _append(self.root / f"{kind}.jsonl", entry)
        self.unshared.append((kind, entry))

    # ------------------------------------------------------------------ a shared store

    def missing(self, shared: list[tuple[str, str]]) -> set[str]:
        """The versions the shared log names whose files are not here yet."""
        named = {json.loads(line)["version"] for _, line in shared}
        return {v for v in named if not (self.root / v).is_dir()}

    def adopt(self, version: str, files: dict[str, str]) -> None:
        """A version published through another gateway (validated and tested there)."""
        with self._staged(files) as staging:
            if RuleBook.load(staging).version != version:
                raise InvalidRequest(f"shared rule set {version}: its files are another version")
            self._move_in(staging, version)

    def follow(self, shared: list[tuple[str, str]]) -> None:
        """Become what the shared log says: its lines missing here appended (in its order),
        and its newest activation the active version. Not while something written here is
        not shared yet: it would be undone."""
        if self.unshared:
            return
        for kind in ("proposals", "history"):
            path = self.root / f"{kind}.jsonl"
            here = set(path.read_text().splitlines()) if path.exists() else set()
            for k, line in shared:
                if k == kind and line not in here:
                    _append_line(path, line)
                    here.add(line)
        activations = [line for k, line in shared if k == "history"]
        if activations:
            newest = json.loads(activations[-1])["version"]
            if newest != self.active_version:
                self._set_active(newest)


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def _append(path: Path, entry: dict[str, Any]) -> None:
    _append_line(path, json.dumps(entry, ensure_ascii=False))  # as store/rule_log.py's lines


def _append_line(path: Path, line: str) -> None:
    with path.open("a") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


async def share(registry: RuleRegistry, log: RuleLog) -> None:
    """What `registry` wrote into the shared store (kept for the next try if the store
    fails), then `registry` made what the store says: another gateway's publishes, proposals
    and approvals."""
    records = registry.unshared[:]
    await log.append(records)
    del registry.unshared[:len(records)]
    shared = await log.lines()
    for version in registry.missing(shared):
        files = await log.files(version)
        if files is not None:
            registry.adopt(version, files)
    registry.follow(shared)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
