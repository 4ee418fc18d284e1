"""What the gateways of one service share through a shared store (`--database-url`) besides
the stores themselves: the rule registry and the operator directory, each machine keeping
its files as their working copy."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from foureyes.store.backend import Opener
from foureyes.store.directory_log import DirectoryLog
from foureyes.store.rule_log import RuleLog


@dataclass(frozen=True)
class Shared:
    rules: RuleLog
    directory: DirectoryLog

    @classmethod
    async def open(cls, data_dir: Path, opener: Opener) -> Shared:
        shared = cls(RuleLog(data_dir / "rules.sqlite", opener),
                     DirectoryLog(data_dir / "directory.sqlite", opener))
        try:
            await shared.rules.open()
            await shared.directory.open()
        except BaseException:
            with contextlib.suppress(Exception):
                await shared.close()
            raise
        return shared

    async def close(self) -> None:
        await self.rules.close()
        await self.directory.close()
