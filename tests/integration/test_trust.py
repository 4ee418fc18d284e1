"""Nobody acts unproven, tried as an intruder would against a running service: every call
authenticated, authority from the directory, four eyes on rule changes, cases owned by the
channel system that made them."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg
from foureyes.security.directory import OperatorDirectory
from foureyes.security.systems import System, Systems
from foureyes.service.app import InsecureBind, Service
from foureyes.service.client import channel_tokens, secure_channel, session, sign_in
from foureyes.service.seat_client import SeatClient
from foureyes.service.settings import Settings

from tests.integration.conftest import connect, enrol, operator_session, running, seat_of

pytestmark = pytest.mark.integration


def withdrawal(key: str, amount: str = "80000", operator: str = "teller-1") -> pb.TellerRequest:
    return pb.TellerRequest(operator_id=operator, outlet_id="0101", transaction=pb.Transaction(
        code="CASH_WITHDRAWAL", amount=amount, currency="CNY", customer_id=f"c-{key}",
        idempotency_key=key))


async def code_of(call) -> grpc.StatusCode:
    try:
        result = call()
        if hasattr(result, "__aiter__"):
            async for _ in result:
                pass
        else:
            await result
    except grpc.aio.AioRpcError as e:
        return e.code()
    return grpc.StatusCode.OK


async def test_no_credentials_is_unauthenticated_on_every_service(service):
    async with connect(service, tokens={}) as bare:  # TLS, but no token
        teller, kiosk = pbg.TellerChannelStub(bare), pbg.SelfServiceChannelStub(bare)
        mobile, admin = pbg.MobileChannelStub(bare), pbg.AdminServiceStub(bare)
        calls = [
            lambda: teller.Authorize(withdrawal("nc-1")),
            lambda: kiosk.Authorize(pb.SelfServiceRequest(device_id="atm", transaction=pb.Transaction(
                code="CASH_WITHDRAWAL", amount="10", idempotency_key="nc-2"))),
            lambda: mobile.Authorize(pb.MobileRequest(session_id="s", transaction=pb.Transaction(
                code="TRANSFER", amount="10", idempotency_key="nc-3"))),
            lambda: teller.WatchCase(pb.WatchCaseRequest(case_id="C1")),
            lambda: teller.CancelCase(pb.CancelCaseRequest(case_id="C1")),
            lambda: teller.SupplementCase(pb.SupplementCaseRequest(case_id="C1")),
            lambda: pbg.SeatServiceStub(bare).Connect(iter([pb.SeatMessage(login=pb.Login(
                seat_id="s", operator_id="auth-1"))])),
            lambda: admin.PublishRules(pb.PublishRulesRequest()),
            lambda: admin.RollbackRules(pb.RollbackRulesRequest()),
            lambda: admin.ApproveRules(pb.ApproveRulesRequest(version="x")),
            lambda: admin.ListRuleVersions(pb.ListRuleVersionsRequest()),
            lambda: pbg.AuthServiceStub(bare).SignIn(pb.SignInRequest(operator_id="auth-1",
                                                                      password="guess")),
        ]
        codes = [await code_of(c) for c in calls]
    assert codes == [grpc.StatusCode.UNAUTHENTICATED] * len(calls)
    refused = await service.gateway.audit.since(0)
    assert sum(r["event"] == "refused" and r["outcome"] == "UNAUTHENTICATED" for r in refused) >= 11
    assert any(r["event"] == "sign-in" and r["outcome"] == "refused" for r in refused)


async def test_a_teller_system_may_call_only_the_teller_channel(service):
    teller_token = {"teller": service.credentials.new_tokens["teller"]}
    async with secure_channel(service.grpc_address, service.credentials.tls.ca_bytes(),
                              {"foureyes.v1.MobileChannel": teller_token["teller"],
                               **channel_tokens(teller_token)}) as ch:
        assert await code_of(lambda: pbg.MobileChannelStub(ch).Authorize(pb.MobileRequest(
            session_id="s", transaction=pb.Transaction(code="TRANSFER", amount="10",
                                                       idempotency_key="tm-1")))
        ) == grpc.StatusCode.PERMISSION_DENIED
        d = await pbg.TellerChannelStub(ch).Authorize(withdrawal("tm-2", "100"))
        assert d.outcome == pb.NOT_REQUIRED


async def test_a_login_claiming_more_than_the_directory_gives_is_refused(service, channel):
    enrol(service, "auth-low", 1, ["cash"])
    for claim in (dict(level=9), dict(level=1, supervisor=True), dict(level=1, skills=["wealth"])):
        seat = SeatClient(channel, "seat-claim", "auth-low", claim.get("level", 1),
                          claim.get("skills", ["cash"]), supervisor=claim.get("supervisor", False),
                          password="pw-auth-low")
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await seat.connect()
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
        await seat.close()
    # asking for nothing gets the directory's level and skills
    seat = await SeatClient(channel, "seat-claim", "auth-low", 0, [],
                            password="pw-auth-low").connect()
    d = await pbg.TellerChannelStub(channel).Authorize(withdrawal("claim-1", "60000"))
    assert (await seat.next_of("offer")).offer.case.case_id == d.case_id
    await seat.close()


async def test_another_operator_cannot_take_over_a_live_seat(service, channel):
    owner = await seat_of(service, channel, "seat-live", "auth-owner", 2, ["cash"]).connect()
    intruder = seat_of(service, channel, "seat-live", "auth-intruder", 2, ["cash"])
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await intruder.connect()
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    await intruder.close()
    unauthenticated = SeatClient(channel, "seat-live", "auth-owner", 2, ["cash"], token="forged")
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await unauthenticated.connect()
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
    await unauthenticated.close()
    d = await pbg.TellerChannelStub(channel).Authorize(withdrawal("live-1", "60000"))
    offer = (await owner.next_of("offer")).offer.case  # the owner's stream carries on
    owner.accept(d.case_id)
    assigned = (await owner.next_of("assigned")).assigned.case
    owner.decide(d.case_id, assigned.version, pb.APPROVE)
    assert (await owner.next_of("decided")).decided.state == pb.APPROVED
    assert offer.case_id == d.case_id
    await owner.close()


async def test_the_initiator_on_any_seat_never_gets_their_case_and_one_person_approves_once(
        service, channel):
    teller = pbg.TellerChannelStub(channel)
    own_a = await seat_of(service, channel, "seat-own-a", "teller-9", 2, ["cash"]).connect()
    own_b = await seat_of(service, channel, "seat-own-b", "teller-9", 2, ["cash"]).connect()
    d = await teller.Authorize(withdrawal("own-1", "250000", operator="teller-9"))  # 2 approvers
    assert d.approvers == 2
    for seat in (own_a, own_b):
        with pytest.raises(asyncio.TimeoutError):
            await seat.next_of("offer", timeout=1.0)
    one_a = await seat_of(service, channel, "seat-one-a", "auth-one", 2, ["cash"]).connect()
    one_b = await seat_of(service, channel, "seat-one-b", "auth-one", 2, ["cash"]).connect()
    first = one_a  # equal seats: the one logged in first is offered first
    assert (await first.next_of("offer")).offer.case.case_id == d.case_id
    first.accept(d.case_id)
    assigned = (await first.next_of("assigned")).assigned.case
    first.decide(d.case_id, assigned.version, pb.APPROVE)
    assert (await first.next_of("decided")).decided.approvals == 1
    other = one_b if first is one_a else one_a
    with pytest.raises(asyncio.TimeoutError):  # the same person on their other seat: never
        await other.next_of("offer", timeout=1.5)
    second = await seat_of(service, channel, "seat-two", "auth-two", 2, ["cash"]).connect()
    second_offer = (await second.next_of("offer")).offer.case
    assert second_offer.case_id == d.case_id and list(second_offer.approved_by) == ["auth-one"]
    for s in (own_a, own_b, one_a, one_b, second):
        await s.close()


async def test_rule_changes_need_an_author_and_a_different_approver(service, channel):
    admin = pbg.AdminServiceStub(channel)
    files = [pb.RuleFile(name="triggers.yaml", content="triggers: []\n")]
    active = service.gateway.book.version
    seat_only = await operator_session(service, channel, "auth-pub", "authorizer")
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await admin.PublishRules(pb.PublishRulesRequest(files=files), credentials=seat_only)
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    both = await operator_session(service, channel, "author-approver", "rule_author",
                                  "rule_approver")
    proposed = await admin.PublishRules(pb.PublishRulesRequest(files=files, comment="no rules"),
                                        credentials=both)
    assert proposed.pending and proposed.proposed_by == "author-approver"
    assert service.gateway.book.version == active  # pending is not active
    d = await pbg.TellerChannelStub(channel).Authorize(withdrawal("pending-1", "5000000"))
    assert d.outcome == pb.REQUIRED
    with pytest.raises(grpc.aio.AioRpcError) as e:  # one person cannot be both eyes
        await admin.ApproveRules(pb.ApproveRulesRequest(version=proposed.version),
                                 credentials=both)
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert service.gateway.book.version == active
    approver = await operator_session(service, channel, "approver-x", "rule_approver")
    done = await admin.ApproveRules(pb.ApproveRulesRequest(version=proposed.version),
                                    credentials=approver)
    assert done.active and (done.proposed_by, done.approved_by) == ("author-approver", "approver-x")
    listed = await admin.ListRuleVersions(pb.ListRuleVersionsRequest(), credentials=approver)
    assert listed.activations[-1].approved_by == "approver-x" and not listed.pending


async def test_a_disabled_operator_loses_the_seat_and_cannot_sign_in(service, channel):
    seat = await seat_of(service, channel, "seat-gone", "auth-gone", 2, ["cash"]).connect()
    # the bank's admin edits the directory file (another process, as `foureyes operators` does)
    OperatorDirectory(service.credentials.directory_path).update("auth-gone", disabled=True)
    error = (await seat.next_of("error", timeout=10)).error
    assert error.code == "PERMISSION_DENIED" and "no longer allows" in error.message
    with pytest.raises(EOFError):
        await seat.next(timeout=5)
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await sign_in(channel, "auth-gone", "pw-auth-gone")
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
    await seat.close()


async def test_only_the_system_that_created_a_case_may_watch_cancel_or_supplement_it(
        start_service, tmp_path):
    path = tmp_path / "systems.json"
    tokens = Systems.create(path, [System("branch-a", frozenset({"teller"})),
                                   System("branch-b", frozenset({"teller"}))])
    async with running(start_service, systems=path) as (svc, _):
        ca = svc.credentials.tls.ca_bytes()
        async with secure_channel(svc.grpc_address, ca, channel_tokens({"teller": tokens["branch-a"]})
                                  ) as a, secure_channel(
                svc.grpc_address, ca, channel_tokens({"teller": tokens["branch-b"]})) as b:
            d = await pbg.TellerChannelStub(a).Authorize(withdrawal("own-sys-1"))
            other = pbg.TellerChannelStub(b)
            for call in (lambda: other.CancelCase(pb.CancelCaseRequest(case_id=d.case_id)),
                         lambda: other.WatchCase(pb.WatchCaseRequest(case_id=d.case_id)),
                         lambda: other.SupplementCase(pb.SupplementCaseRequest(case_id=d.case_id))):
                assert await code_of(call) == grpc.StatusCode.PERMISSION_DENIED
            cancelled = await pbg.TellerChannelStub(a).CancelCase(
                pb.CancelCaseRequest(case_id=d.case_id, reason="customer left"))
            assert cancelled.state == pb.CANCELLED


async def test_listening_beyond_loopback_needs_the_bank_s_credentials(ray_session, tmp_path):
    with pytest.raises(InsecureBind, match="--tls-cert"):
        await Service(Settings(host="0.0.0.0", grpc_port=0, metrics_port=0, feed_port=0, console_port=0,
                               data_dir=tmp_path / "d")).start()


async def test_an_operator_session_is_not_a_channel_token(service, channel):
    token = await sign_in(channel, "auth-s", enrol(service, "auth-s", 2, ["cash"]))
    async with connect(service, tokens={}) as bare:
        code = await code_of(lambda: pbg.TellerChannelStub(bare).Authorize(
            withdrawal("sess-1"), credentials=session(token)))
    assert code == grpc.StatusCode.UNAUTHENTICATED
