"""Published rule sets: every version ever published, and which one is active.

Layout in the data directory:

    rules/<version>/*.yaml     the files of each published version, never changed again
    rules/ACTIVE               the active version (replaced atomically)
    rules/history.jsonl        one line per activation: when, which version, why

Publishing is all-or-nothing: the candidate is loaded, validated and its tests run in a
staging directory; only a set that passes is moved in and made active.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from foureyes.errors import InvalidRequest, NotFound, RuleError, RuleSetError
from foureyes.rules import testing
from foureyes.rules.book import RuleBook
from foureyes.rules.files import contents

_FILE_NAME = re.compile(r"^[A-Za-z0-9_.\-]+\.yaml$")


@dataclass(frozen=True)
class Activation:
    version: str
    at: float
    comment: str
    trigger_rules: int


class RuleRegistry:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "rules"
        self.root.mkdir(parents=True, exist_ok=True)

    @property
    def active_version(self) -> str:
        path = self.root / "ACTIVE"
        return path.read_text().strip() if path.exists() else ""

    def history(self) -> list[Activation]:
        path = self.root / "history.jsonl"
        if not path.exists():
            return []
        return [Activation(**json.loads(line)) for line in path.read_text().splitlines() if line]

    def load(self, version: str) -> RuleBook:
        directory = self.root / version
        if not version or not directory.is_dir():
            raise NotFound(f"rule set version {version!r} was never published here")
        return RuleBook.load(directory)

    def publish_files(self, files: dict[str, str], comment: str) -> RuleBook:
        """Validate, test and activate a rule set given as {file name: content}."""
        if not files:
            raise InvalidRequest("no rule files given")
        bad = sorted(n for n in files if not _FILE_NAME.match(n))
        if bad:
            raise InvalidRequest(f"rule file names must be plain *.yaml names: {', '.join(bad)}")
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.root))
        try:
            for name, content in files.items():
                (staging / name).write_text(content, encoding="utf-8")
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
            final = self.root / book.version
            if not final.exists():
                for f in staging.iterdir():
                    _fsync(f)
                os.replace(staging, final)
            return self._activate(RuleBook.load(final), comment)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def publish_dir(self, directory: Path, comment: str) -> RuleBook:
        return self.publish_files(contents(directory), comment)

    def rollback(self, version: str = "") -> RuleBook:
        """Make `version` active again; by default the one that was active before this one."""
        if not version:
            current = self.active_version
            earlier = [a.version for a in self.history() if a.version != current]
            if not earlier:
                raise NotFound("there is no earlier rule set version to restore")
            version = earlier[-1]
        return self._activate(self.load(version), f"rollback to {version}")

    def _activate(self, book: RuleBook, comment: str) -> RuleBook:
        if book.version == self.active_version:
            return book
        tmp = self.root / "ACTIVE.tmp"
        tmp.write_text(book.version + "\n")
        _fsync(tmp)
        os.replace(tmp, self.root / "ACTIVE")
        entry: dict[str, Any] = {"version": book.version, "at": time.time(), "comment": comment,
                                 "trigger_rules": len(book.ruleset.triggers)}
        with (self.root / "history.jsonl").open("a") as f:
            f.write(json.dumps(entry) + "\n")
            f.flush()
            os.fsync(f.fileno())
        return book


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
