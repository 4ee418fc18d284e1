"""Gateways on different machines follow one rule registry and one operator directory
through the shared store (store/rule_log.py, store/directory_log.py): a publish, proposal or
approval, an operator added or disabled, through one is what the others become."""

from __future__ import annotations

import pytest
from foureyes.errors import PermissionDenied, Unauthenticated
from foureyes.gateway.rule_registry import RuleRegistry, share
from foureyes.rules.book import DEFAULT_RULES
from foureyes.rules.files import contents
from foureyes.security.directory import Operator, OperatorDirectory
from foureyes.store.directory_log import DirectoryLog
from foureyes.store.rule_log import RuleLog


def _raised(files: dict[str, str], limit: int) -> dict[str, str]:
    files = dict(files)
    files["triggers.yaml"] = files["triggers.yaml"].replace("default: 50000", f"default: {limit}")
    del files["triggers_test.yaml"]  # they pin the bundled threshold
    return files


@pytest.mark.parametrize("store_opener", ["sqlite", "postgresql"], indirect=True)
async def test_a_change_through_one_registry_is_what_the_other_becomes(tmp_path, store_opener):
    log = RuleLog(tmp_path / "shared" / "rules.sqlite", store_opener)
    await log.open()
    try:
        a, b = RuleRegistry(tmp_path / "a"), RuleRegistry(tmp_path / "b")
        first = a.publish_dir(DEFAULT_RULES, "bundled rules at first start")
        await share(a, log)
        assert not a.unshared
        await share(b, log)  # a machine whose data directory is empty
        assert b.active_version == first.version
        assert b.load(first.version).version == first.version
        assert [h.version for h in b.history()] == [first.version]

        proposal = a.propose_files(_raised(contents(DEFAULT_RULES), 70000), "raise", "author-1")
        await share(a, log)
        await share(b, log)
        assert [p.version for p in b.pending()] == [proposal.version]
        with pytest.raises(PermissionDenied):  # four eyes across machines too
            b.approve(proposal.version, by="author-1")
        b.approve(proposal.version, by="approver-1")
        await share(b, log)
        await share(a, log)
        assert a.active_version == b.active_version == proposal.version
        assert not a.pending() and not b.pending()
        # each line once, in both, whoever wrote it first
        for registry in (a, b):
            lines = (registry.root / "history.jsonl").read_text().splitlines()
            assert len(lines) == len(set(lines)) == 2
            assert registry.history()[-1].approved_by == "approver-1"
    finally:
        await log.close()


async def test_the_newest_activation_in_the_store_wins_everywhere(tmp_path):
    """Two approvals through two gateways at once: both end on the one the store took last."""
    log = RuleLog(tmp_path / "rules.sqlite")
    await log.open()
    try:
        a, b = RuleRegistry(tmp_path / "a"), RuleRegistry(tmp_path / "b")
        a.publish_dir(DEFAULT_RULES, "first start")
        await share(a, log)
        await share(b, log)
        p70 = a.propose_files(_raised(contents(DEFAULT_RULES), 70000), "70", "author-1")
        p80 = a.propose_files(_raised(contents(DEFAULT_RULES), 80000), "80", "author-1")
        await share(a, log)
        await share(b, log)
        a.approve(p70.version, by="approver-1")  # neither has heard of the other's yet
        b.approve(p80.version, by="approver-2")
        await share(a, log)  # the store takes a's first
        await share(b, log)
        await share(a, log)
        assert a.active_version == b.active_version == p80.version
    finally:
        await log.close()


async def test_what_the_store_did_not_take_is_kept_and_not_undone(tmp_path):
    log = RuleLog(tmp_path / "rules.sqlite")
    await log.open()
    a = RuleRegistry(tmp_path / "a")
    first = a.publish_dir(DEFAULT_RULES, "first start")
    await share(a, log)
    p70 = a.propose_files(_raised(contents(DEFAULT_RULES), 70000), "70", "author-1")
    a.approve(p70.version, by="approver-1")
    await log.close()
    with pytest.raises(RuntimeError, match="not open"):  # the store is away
        await share(a, log)
    assert a.unshared and a.active_version == p70.version  # kept, still active here
    await log.open()
    try:
        await share(a, log)  # back: handed over now
        assert not a.unshared and a.active_version == p70.version
        b = RuleRegistry(tmp_path / "b")
        await share(b, log)
        assert b.active_version == p70.version != first.version
    finally:
        await log.close()


@pytest.mark.parametrize("store_opener", ["sqlite", "postgresql"], indirect=True)
async def test_an_operator_change_on_one_machine_reaches_the_other(tmp_path, store_opener):
    log_a = DirectoryLog(tmp_path / "shared" / "directory.sqlite", store_opener)
    log_b = DirectoryLog(tmp_path / "shared" / "directory.sqlite", store_opener)
    await log_a.open()
    await log_b.open()
    try:
        a = OperatorDirectory.create(tmp_path / "a" / "operators.json",
                                     [(Operator("auth-1", level=2, skills=("cash",)), "pw-1")])
        b = OperatorDirectory.create(tmp_path / "b" / "operators.json",  # a joining machine's
                                     [(Operator("demo", level=1), "pw-demo")])  # own start
        assert not await log_a.follow(a.path)  # the first: the store takes it
        assert await log_b.follow(b.path, made_now=True)  # a directory this start made yields
        assert b.refresh() and [o.operator_id for o in b.all()] == ["auth-1"]
        assert b.verify_password("auth-1", "pw-1").level == 2

        b.update("auth-1", disabled=True)  # the bank disables them through machine b
        assert not await log_b.follow(b.path)
        assert await log_a.follow(a.path)
        assert a.refresh()
        with pytest.raises(Unauthenticated):
            a.active("auth-1")
        assert not await log_a.follow(a.path) and not await log_b.follow(b.path)  # level
    finally:
        await log_a.close()
        await log_b.close()


async def test_a_change_not_handed_over_yet_is_not_undone_by_a_gateway_joining(tmp_path):
    """Two gateways on one data directory: an operator added to the file after the first
    gateway's look survives the second gateway's first look (the file is the newer)."""
    log_a = DirectoryLog(tmp_path / "directory.sqlite")
    log_b = DirectoryLog(tmp_path / "directory.sqlite")
    await log_a.open()
    await log_b.open()
    try:
        shared = OperatorDirectory.create(tmp_path / "data" / "operators.json",
                                          [(Operator("auth-1", level=1), "pw-1")])
        await log_a.follow(shared.path)
        shared.add(Operator("auth-2", level=2), "pw-2")  # before a's next heartbeat
        assert not await log_b.follow(shared.path)  # b joins: hands the newer file over
        assert not await log_a.follow(shared.path)
        assert shared.refresh() is False  # never rewritten under them
        assert {o.operator_id for o in shared.all()} == {"auth-1", "auth-2"}
    finally:
        await log_a.close()
        await log_b.close()
