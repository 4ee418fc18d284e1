"""Publishing rule sets into a running service: all-or-nothing, one version per request,
rollback, restart, and replaying the recorded decisions with a candidate set."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg
from foureyes.rules.book import DEFAULT_RULES, RuleBook

from tests.integration.conftest import operator_session, publish_approved, running

pytestmark = pytest.mark.integration


def candidate(tmp_path: Path, large_cash: int = 70000) -> Path:
    """The bundled rules with a different cash threshold (and its tests adjusted)."""
    target = tmp_path / f"candidate-{large_cash}"
    if target.exists():
        return target
    shutil.copytree(DEFAULT_RULES, target)
    triggers = target / "triggers.yaml"
    triggers.write_text(triggers.read_text().replace("    default: 50000\n",
                                                     f"    default: {large_cash}\n"))
    (target / "triggers_test.yaml").unlink()  # they pin the bundled thresholds
    return target


def files_of(directory: Path) -> list[pb.RuleFile]:
    return [pb.RuleFile(name=p.name, content=p.read_text()) for p in sorted(directory.glob("*.yaml"))]


def withdrawal(key: str, amount: str = "60000") -> pb.TellerRequest:
    # a customer per request: the daily cash counter must not decide these
    return pb.TellerRequest(operator_id="t1", outlet_id="0101", terminal_id="T1",
                            transaction=pb.Transaction(code="CASH_WITHDRAWAL", amount=amount,
                                                       customer_id=f"cust-{key}",
                                                       idempotency_key=key))


async def test_requests_in_flight_during_a_publish_get_exactly_one_version(start_service, tmp_path):
    old, new = RuleBook.load().version, RuleBook.load(candidate(tmp_path)).version
    async with running(start_service) as (svc, ch):
        teller, admin = pbg.TellerChannelStub(ch), pbg.AdminServiceStub(ch)

        async def wave(prefix: str, n: int) -> list[pb.Decision]:
            return list(await asyncio.gather(*(teller.Authorize(withdrawal(f"{prefix}{i}"))
                                              for i in range(n))))

        before = asyncio.create_task(wave("a", 150))
        await asyncio.sleep(0.2)  # the wave needs cases under the old rules: about a second
        published = await publish_approved(svc, ch, files_of(candidate(tmp_path)),
                                           "raise cash threshold to 70,000")
        answers = await before + await wave("b", 50)

        assert published.version == new and published.active
        assert (published.proposed_by, published.approved_by) == ("author-t", "approver-t")
        seen = {d.rules_version for d in answers}
        assert seen == {old, new}
        for d in answers:  # 60,000 needs a case under the old threshold and not under the new
            assert d.outcome == (pb.REQUIRED if d.rules_version == old else pb.NOT_REQUIRED), d
        assert all(d.rules_version == new for d in answers[150:])

        author = await operator_session(svc, ch, "author-t", "rule_author")
        approver = await operator_session(svc, ch, "approver-t", "rule_approver")
        proposed = await admin.RollbackRules(pb.RollbackRulesRequest(), credentials=author)
        assert proposed.version == old and proposed.pending and svc.gateway.book.version == new
        restored = await admin.ApproveRules(pb.ApproveRulesRequest(version=old),
                                            credentials=approver)
        assert restored.version == old and restored.active
        d = await teller.Authorize(withdrawal("c1"))
        assert d.rules_version == old and d.outcome == pb.REQUIRED
        history = (await admin.ListRuleVersions(pb.ListRuleVersionsRequest(),
                                                credentials=approver)).activations
        assert [v.version for v in history] == [old, new, old]
        assert [v.active for v in history] == [True, False, True]
        assert history[1].comment == "raise cash threshold to 70,000"


async def test_an_invalid_or_failing_rule_set_never_replaces_the_active_one(start_service, tmp_path):
    async with running(start_service) as (svc, ch):
        admin = pbg.AdminServiceStub(ch)
        author = await operator_session(svc, ch, "author-t", "rule_author")
        active = svc.gateway.book.version
        broken = candidate(tmp_path)
        (broken / "more.yaml").write_text(
            "triggers:\n  - id: oops\n    when: {transaction.amount: {gte: 10, lt: 5}}\n"
            "    outcome: remote\n    scene: cash-withdrawal\n")
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await admin.PublishRules(pb.PublishRulesRequest(files=files_of(broken)),
                                     credentials=author)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "more.yaml:3: oops: can never fire" in e.value.details()

        failing = candidate(tmp_path, 90000)
        shutil.copy(DEFAULT_RULES / "triggers_test.yaml", failing)  # expects 50,000
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await admin.PublishRules(pb.PublishRulesRequest(files=files_of(failing)),
                                     credentials=author)
        assert "triggers_test.yaml:25: a large cash withdrawal goes to a remote authorizer: " \
               "test failed: outcome: expected remote, got none" in e.value.details()

        assert svc.gateway.book.version == active
        d = await pbg.TellerChannelStub(ch).Authorize(withdrawal("x"))
        assert d.rules_version == active


async def test_a_restart_keeps_the_published_version_and_replay_reads_the_decisions(
        start_service, tmp_path):
    data = tmp_path / "data"
    async with running(start_service, data_dir=data) as (svc, ch):
        teller = pbg.TellerChannelStub(ch)
        for i, amount in enumerate(["1000", "45000", "45000", "60000"]):
            await teller.Authorize(withdrawal(f"r{i}", amount))
        lowered = candidate(tmp_path, 40000)
        published = await publish_approved(svc, ch, files_of(lowered))
    async with running(start_service, data_dir=data) as (svc, ch):
        assert svc.gateway.book.version == published.version

    out = subprocess.run(
        [sys.executable, "-m", "foureyes.service.cli", "rules", "replay", str(lowered),
         "--since", "2000-01-01", "--data-dir", str(data)],
        capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "read 4 decisions" in out.stdout
    assert "2 request(s) would flip" in out.stdout
    assert "teller r1: none -> remote/cash-withdrawal (cash-withdrawal-large)" in out.stdout
    cases = next(line for line in out.stdout.splitlines() if line.startswith("cases "))
    assert cases.split()[1:] == ["1", "3", "+2"]


async def test_rules_given_at_a_restart_wait_for_a_second_person(start_service, tmp_path):
    """Whoever can restart the service cannot change its rules alone: on a data directory
    with an active version, `--rules DIR` is a proposal that a rule approver must approve."""
    data, lowered = tmp_path / "data", candidate(tmp_path, 40000)
    async with running(start_service, data_dir=data) as (svc, ch):
        bundled = svc.gateway.book.version
    async with running(start_service, data_dir=data, rules=lowered) as (svc, ch):
        assert svc.gateway.book.version == bundled  # still the active one
        proposed = RuleBook.load(lowered).version
        assert [p.version for p in svc.gateway.registry.pending()] == [proposed]
        decision = await pbg.TellerChannelStub(ch).Authorize(withdrawal("k1", "45000"))
        assert decision.outcome == pb.NOT_REQUIRED  # 45,000 is under the bundled 50,000
        approved = await pbg.AdminServiceStub(ch).ApproveRules(
            pb.ApproveRulesRequest(version=proposed),
            credentials=await operator_session(svc, ch, "approver-t", "rule_approver"))
        assert approved.version == proposed == svc.gateway.book.version
    async with running(start_service, data_dir=data, rules=lowered) as (svc, ch):
        assert svc.gateway.book.version == proposed  # the same DIR again proposes nothing
        assert svc.gateway.registry.pending() == []
