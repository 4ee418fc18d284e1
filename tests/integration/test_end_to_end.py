"""The whole path for real: gRPC → rules → case in a Ray actor → seat → decision back."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import urllib.request

import grpc
import pytest
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg

from tests.integration.conftest import ALL_SKILLS, running, seat_of

pytestmark = pytest.mark.integration


def withdrawal(key: str, amount: str, operator: str = "teller-1", customer: str = "cust-1"):
    return pb.TellerRequest(operator_id=operator, outlet_id="0101", terminal_id="T1",
                            transaction=pb.Transaction(code="CASH_WITHDRAWAL", amount=amount,
                                                       currency="CNY", account="6222000011112222",
                                                       customer_id=customer, idempotency_key=key))


async def test_teller_request_needing_no_authorization(service, channel):
    d = await pbg.TellerChannelStub(channel).Authorize(withdrawal("k-small", "3000"))
    assert d.outcome == pb.NOT_REQUIRED
    assert not d.case_id and len(d.rules_version) == 12
    metrics = urllib.request.urlopen(service.metrics_url, timeout=5).read().decode()
    assert 'foureyes_requests_total{channel="teller",outcome="none"} 1.0' in metrics


async def test_required_case_is_offered_approved_and_watched(service, channel):
    teller = pbg.TellerChannelStub(channel)
    seat = await seat_of(service, channel, "seat-1", "auth-1", 2, ALL_SKILLS).connect()
    d = await teller.Authorize(withdrawal("k-big", "80000"))
    assert d.outcome == pb.REQUIRED and d.case_id
    assert d.scene.id == "cash-withdrawal" and d.authority_level == 1
    assert [f.id for f in d.fired] == ["cash-withdrawal-large"]
    assert d.images.combination == pb.ImageRequirement.ALL_OF
    watch = teller.WatchCase(pb.WatchCaseRequest(case_id=d.case_id))

    offer = (await seat.next_of("offer")).offer
    assert offer.case.case_id == d.case_id and offer.case.account_masked == "************2222"
    # the offer shows the version the case is at, as a watch does; the review is one later
    now = await anext(aiter(teller.WatchCase(pb.WatchCaseRequest(case_id=d.case_id))))
    assert (now.state, now.version) == (pb.OFFERED, offer.case.version)
    seat.accept(d.case_id)
    assigned = (await seat.next_of("assigned")).assigned.case
    assert assigned.version == offer.case.version + 1
    seat.decide(d.case_id, assigned.version, pb.APPROVE)
    decided = (await seat.next_of("decided")).decided
    assert decided.state == pb.APPROVED and decided.final

    states = [u.state async for u in watch]
    assert states[-1] == pb.APPROVED
    assert pb.IN_REVIEW in states or states == [pb.APPROVED]
    # the same request again is the same case, not a new one
    again = await teller.Authorize(withdrawal("k-big", "80000"))
    assert again.case_id == d.case_id
    await seat.close()


async def test_stale_decision_is_refused_on_the_seat_stream(service, channel):
    teller = pbg.TellerChannelStub(channel)
    seat = await seat_of(service, channel, "seat-1", "auth-1", 2, ALL_SKILLS).connect()
    d = await teller.Authorize(withdrawal("k-stale", "60000"))
    await seat.next_of("offer")
    seat.accept(d.case_id)
    assigned = (await seat.next_of("assigned")).assigned.case
    seat.decide(d.case_id, assigned.version - 1, pb.APPROVE)
    error = (await seat.next_of("error")).error
    assert error.code == "FAILED_PRECONDITION" and "version" in error.message
    seat.decide(d.case_id, assigned.version, pb.REJECT, reason_code="SIGNATURE")
    assert (await seat.next_of("decided")).decided.state == pb.REJECTED
    await seat.close()


async def test_self_service_and_mobile_requests(service, channel):
    kiosk = pbg.SelfServiceChannelStub(channel)
    mobile = pbg.MobileChannelStub(channel)
    rejected = await kiosk.Authorize(pb.SelfServiceRequest(
        device_id="atm-1", transaction=pb.Transaction(
            code="CASH_WITHDRAWAL", amount="100", account_status="BLOCKED",
            idempotency_key="ss-1")))
    assert rejected.outcome == pb.REFUSED and rejected.fired[0].id == "blocked-account"
    deposit = await kiosk.Authorize(pb.SelfServiceRequest(
        device_id="atm-1", transaction=pb.Transaction(
            code="CASH_DEPOSIT", amount="60000", customer_id="c9", idempotency_key="ss-2")))
    assert deposit.outcome == pb.REQUIRED and deposit.scene.id == "cash-deposit"

    seat = await seat_of(service, channel, "seat-w", "auth-9", 2, ["wealth"]).connect()
    d = await mobile.Authorize(pb.MobileRequest(
        app_id="app", session_id="s-1", transaction=pb.Transaction(
            code="WEALTH_PURCHASE", amount="20000", product_risk_level=5,
            customer=pb.Customer(risk_level=2), idempotency_key="m-1")))
    assert d.outcome == pb.REQUIRED and d.scene.category == "wealth"
    offer = (await seat.next_of("offer")).offer
    assert offer.case.case_id == d.case_id and offer.case.channel == "mobile"
    seat.accept(d.case_id)
    v = (await seat.next_of("assigned")).assigned.case.version
    seat.decide(d.case_id, v, pb.RETURN, reason_code="NEED_DISCLOSURE")
    assert (await seat.next_of("decided")).decided.state == pb.RETURNED
    cancelled = await mobile.CancelCase(pb.CancelCaseRequest(case_id=d.case_id, reason="gave up"))
    assert cancelled.state == pb.CANCELLED and cancelled.final
    await seat.close()


async def test_cumulative_cash_uses_customer_history(service, channel):
    teller = pbg.TellerChannelStub(channel)
    first = await teller.Authorize(withdrawal("h-1", "45000", customer="cust-h"))
    second = await teller.Authorize(withdrawal("h-2", "45000", customer="cust-h"))
    retry = await teller.Authorize(withdrawal("h-2", "45000", customer="cust-h"))
    third = await teller.Authorize(withdrawal("h-3", "45000", customer="cust-h"))
    assert [first.outcome, second.outcome, retry.outcome] == [pb.NOT_REQUIRED] * 3
    assert third.outcome == pb.REQUIRED
    # the amount itself is in the cash table's band that needs nobody; the day's total is not
    assert [f.id for f in third.fired] == ["cash-daily-cumulative", "cash-withdrawal-small"]
    assert third.fired[0].reason == "cash withdrawn today 135,000 ≥ 100,000"


async def test_bad_requests_get_clear_errors(service, channel):
    teller = pbg.TellerChannelStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await teller.Authorize(withdrawal("", "100"))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "idempotency_key" in e.value.details()
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await teller.Authorize(withdrawal("k-x", "lots"))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await teller.Authorize(withdrawal("k-big-2", "70000"))
        await teller.Authorize(withdrawal("k-big-2", "71000"))  # same key, other request
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await teller.CancelCase(pb.CancelCaseRequest(case_id="Cnope"))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


async def test_offer_timeout_goes_to_a_second_seat(start_service):
    async with running(start_service, offer_timeout=1.0) as (svc, channel):
        first = await seat_of(svc, channel, "seat-a", "auth-a", 1, ["cash"]).connect()
        d = await pbg.TellerChannelStub(channel).Authorize(withdrawal("t-1", "55000"))
        assert (await first.next_of("offer")).offer.case.case_id == d.case_id
        second = await seat_of(svc, channel, "seat-b", "auth-b", 1, ["cash"]).connect()
        revoked = (await first.next_of("revoked", timeout=5)).revoked
        assert revoked.case_id == d.case_id and "timed out" in revoked.reason
        assert (await second.next_of("offer", timeout=5)).offer.case.case_id == d.case_id
        await first.close()
        await second.close()


async def test_a_seat_with_capacity_two_works_on_two_cases_at_once(service, channel):
    seat = await seat_of(service, channel, "seat-2x", "auth-2x", 2, ["cash"], capacity=2).connect()
    teller = pbg.TellerChannelStub(channel)
    cases = {(await teller.Authorize(withdrawal(f"cap-{i}", "70000"))).case_id for i in range(3)}
    offered = {(await seat.next_of("offer")).offer.case.case_id for _ in range(2)}
    assert offered < cases
    for case_id in offered:
        seat.accept(case_id)
    kinds = []
    while kinds.count("assigned") < 2:  # the seat is full: no third offer comes meanwhile
        event = await seat.next()
        kinds.append(event.WhichOneof("body"))
        if kinds[-1] == "assigned":
            last = event.assigned.case
    assert "offer" not in kinds
    seat.decide(last.case_id, last.version, pb.APPROVE)
    third = (await seat.next_of("offer")).offer.case.case_id
    assert third == (cases - offered).pop()
    await seat.close()


async def test_initiator_is_never_offered_their_own_case(service, channel):
    own = await seat_of(service, channel, "seat-own", "teller-7", 2, ALL_SKILLS).connect()
    d = await pbg.TellerChannelStub(channel).Authorize(withdrawal("own-1", "90000", "teller-7"))
    with pytest.raises(TimeoutError):
        await own.next_of("offer", timeout=1.5)
    other = await seat_of(service, channel, "seat-other", "auth-2", 2, ALL_SKILLS).connect()
    assert (await other.next_of("offer")).offer.case.case_id == d.case_id
    await own.close()
    await other.close()


async def test_open_cases_survive_a_restart_and_are_offered_again(start_service, tmp_path):
    data = tmp_path / "restart"
    async with running(start_service, data_dir=data) as (svc, channel):
        teller = pbg.TellerChannelStub(channel)
        d1 = await teller.Authorize(withdrawal("r-1", "60000"))
        d2 = await teller.Authorize(withdrawal("r-2", "70000"))
        seat = await seat_of(svc, channel, "seat-r", "auth-r", 2, ["cash"]).connect()
        offered = (await seat.next_of("offer")).offer.case.case_id
        seat.accept(offered)
        await seat.next_of("assigned")  # in review when the service stops
        await seat.close()
    async with running(start_service, data_dir=data) as (svc, channel):
        teller = pbg.TellerChannelStub(channel)
        for d in (d1, d2):
            update = await teller.WatchCase(pb.WatchCaseRequest(case_id=d.case_id)).read()
            assert update.state == pb.QUEUED and not update.final
        seat = await seat_of(svc, channel, "seat-r2", "auth-r2", 2, ["cash"]).connect()
        seen = {(await seat.next_of("offer")).offer.case.case_id}
        seat.decline(next(iter(seen)))
        seen.add((await seat.next_of("offer")).offer.case.case_id)
        assert seen == {d1.case_id, d2.case_id}
        await seat.close()


async def test_a_killed_case_host_is_restarted_and_the_next_request_reaches_it(service, channel):
    import ray
    from foureyes.actors.shards import actor_name

    teller = pbg.TellerChannelStub(channel)
    seat = await seat_of(service, channel, "seat-k", "auth-k", 2, ["cash"]).connect()
    before = await teller.Authorize(withdrawal("kill-1", "60000"))
    await seat.next_of("offer")
    host = ray.get_actor(actor_name(service.settings.instance, "cases", 0))
    old = await host.endpoint.remote()
    ray.kill(host, no_restart=False)
    for _ in range(300):  # until Ray has started it again, at another address
        with contextlib.suppress(ray.exceptions.RayError):
            if await host.endpoint.remote() != old:
                break
        await asyncio.sleep(0.1)
    assert await host.ready.remote() == 1  # it reloaded the open case
    # the gateway saw the old host's connection close: it asks the new one, first time
    after = await teller.Authorize(withdrawal("kill-2", "60000"))
    assert after.outcome == pb.REQUIRED
    for d in (before, after):
        update = await teller.WatchCase(pb.WatchCaseRequest(case_id=d.case_id)).read()
        assert not update.final and update.state in (pb.QUEUED, pb.OFFERED)
    await seat.close()


async def test_a_restarted_dispatcher_knows_which_seat_reviews_what(start_service):
    """Case host 0 holds the dispatcher; the reviews of cases on other hosts survive its
    restart, and a seat reviewing one is not offered more than its capacity."""
    import ray
    from foureyes.actors.shards import actor_name, shard_of
    from foureyes.gateway.gateway import case_id_for

    keys = (k for k in (f"rv-{i}" for i in range(1000))
            if shard_of(case_id_for("teller", k), 2) == 1)
    async with running(start_service, case_shards=2) as (svc, channel):
        teller = pbg.TellerChannelStub(channel)
        seat = await seat_of(svc, channel, "seat-r", "auth-r", 2, ["cash"]).connect()  # capacity 1
        first = await teller.Authorize(withdrawal(next(keys), "60000"))
        await seat.next_of("offer")
        seat.accept(first.case_id)
        assigned = (await seat.next_of("assigned")).assigned.case
        desk = ray.get_actor(actor_name(svc.settings.instance, "cases", 0))
        old = await desk.endpoint.remote()
        ray.kill(desk, no_restart=False)
        for _ in range(300):
            with contextlib.suppress(ray.exceptions.RayError):
                if await desk.endpoint.remote() != old:
                    break
            await asyncio.sleep(0.1)
        for _ in range(100):  # the gateway's heartbeat tells the new desk of the seat
            if (await desk.dispatch_stats.remote())["seats"]["busy"] == 1:
                break
            await asyncio.sleep(0.1)
        second = await teller.Authorize(withdrawal(next(keys), "60000"))
        await asyncio.sleep(1.0)
        assert (await desk.dispatch_stats.remote())["queued"] == 1  # the seat is full
        seat.decide(first.case_id, assigned.version, pb.APPROVE)
        # nothing in between: the seat's stream never broke, so the new desk does not assign
        # it its case a second time
        assert (await seat.next()).decided.state == pb.APPROVED
        assert (await seat.next_of("offer")).offer.case.case_id == second.case_id
        await seat.close()


async def test_bad_rule_file_is_refused_naming_file_and_line(tmp_path, start_service):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "triggers.yaml").write_text(
        "triggers:\n  - id: broken\n    outcome: remote\n    scene: nowhere\n"
        "    when: {transaction.code: X}\n")
    out = subprocess.run([sys.executable, "-m", "foureyes.service.cli", "rules", "check",
                          str(rules)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert f"{rules}/triggers.yaml:4: broken: unknown scene 'nowhere'" in out.stderr  # at `scene:`
    from foureyes.errors import RuleSetError

    with pytest.raises(RuleSetError, match="triggers.yaml:4: broken"):
        await start_service(rules=rules)
    good = subprocess.run([sys.executable, "-m", "foureyes.service.cli", "rules", "check"],
                          capture_output=True, text=True, timeout=60)
    assert good.returncode == 0 and "ok, version" in good.stdout


async def test_health_and_reflection_are_served(service, channel):
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    status = await health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service="foureyes.v1.TellerChannel"))
    assert status.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
async def test_reflection_answers_v1_and_v1alpha(service, channel, version):
    """grpc-js and grpcurl ask for v1 first; its messages are v1alpha's, field for field."""
    from grpc_reflection.v1alpha import reflection_pb2 as r

    call = channel.stream_stream(
        f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
        request_serializer=r.ServerReflectionRequest.SerializeToString,
        response_deserializer=r.ServerReflectionResponse.FromString)
    stream = call(iter([r.ServerReflectionRequest(list_services=""),
                        r.ServerReflectionRequest(file_containing_symbol="foureyes.v1.SeatService")]))
    listed, described = [m async for m in stream]
    names = {s.name for s in listed.list_services_response.service}
    assert {"foureyes.v1.TellerChannel", "foureyes.v1.SeatService",
            "grpc.reflection.v1.ServerReflection", "grpc.health.v1.Health"} <= names
    from google.protobuf import descriptor_pb2
    files = [descriptor_pb2.FileDescriptorProto.FromString(b)
             for b in described.file_descriptor_response.file_descriptor_proto]
    assert any(f.package == "foureyes.v1" and any(s.name == "SeatService" for s in f.service)
               for f in files)


async def test_dual_approval_goes_to_two_distinct_seats_in_sequence(service, channel):
    first = await seat_of(service, channel, "seat-d1", "auth-d1", 2, ["cash"]).connect()
    teller = pbg.TellerChannelStub(channel)
    d = await teller.Authorize(withdrawal("dual-1", "250000"))
    assert d.approvers == 2 and d.authority_level == 2
    offer = (await first.next_of("offer")).offer.case
    assert offer.case_id == d.case_id and offer.approvals == 0
    first.accept(d.case_id)
    assigned = (await first.next_of("assigned")).assigned.case
    first.decide(d.case_id, assigned.version, pb.APPROVE)
    partly = (await first.next_of("decided")).decided
    assert partly.state == pb.QUEUED and partly.approvals == 1 and not partly.final

    second = await seat_of(service, channel, "seat-d2", "auth-d2", 2, ["cash"]).connect()
    offer = (await second.next_of("offer")).offer.case  # never back to the first approver
    assert offer.case_id == d.case_id and list(offer.approved_by) == ["auth-d1"]
    second.accept(d.case_id)
    assigned = (await second.next_of("assigned")).assigned.case
    second.decide(d.case_id, assigned.version, pb.APPROVE)
    done = (await second.next_of("decided")).decided
    assert done.state == pb.APPROVED and done.approvals == 2 and done.final
    await first.close()
    await second.close()


async def test_return_for_supplement_comes_back_to_the_same_seat(service, channel):
    teller = pbg.TellerChannelStub(channel)
    returner = await seat_of(service, channel, "seat-r1", "auth-r1", 1, ["cash"]).connect()
    d = await teller.Authorize(withdrawal("ret-1", "60000"))
    watch = teller.WatchCase(pb.WatchCaseRequest(case_id=d.case_id))
    assert (await returner.next_of("offer")).offer.case.case_id == d.case_id
    returner.accept(d.case_id)
    assigned = (await returner.next_of("assigned")).assigned.case
    returner.decide(d.case_id, assigned.version, pb.RETURN, reason_code="MISSING_IMAGE",
                    missing=["id_document"])
    async for update in watch:  # the channel is told what is missing
        if update.state == pb.RETURNED:
            assert list(update.missing) == ["id_document"] and not update.final
            break
    # another seat is free and was never assigned: still the returning seat gets it back
    other = await seat_of(service, channel, "seat-r2", "auth-r2", 1, ["cash"]).connect()
    back = await teller.SupplementCase(pb.SupplementCaseRequest(
        case_id=d.case_id, supplied=["id_document"], note="ID card scanned"))
    assert back.state == pb.QUEUED
    offer = (await returner.next_of("offer")).offer.case
    assert offer.case_id == d.case_id and list(offer.supplemented) == ["id_document"]
    with pytest.raises(grpc.aio.AioRpcError) as e:  # only a returned case takes a supplement
        await teller.SupplementCase(pb.SupplementCaseRequest(case_id=d.case_id))
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    await returner.close()
    await other.close()


async def test_every_case_event_is_published_on_the_feed(service, channel):
    import json

    import zmq
    import zmq.asyncio

    sub = zmq.asyncio.Context.instance().socket(zmq.SUB)
    sub.connect(service.gateway.feed.endpoint)
    sub.setsockopt(zmq.SUBSCRIBE, b"case.")
    # a SUB socket misses what is sent before it has joined: wait until a probe gets through
    for _ in range(100):
        service.gateway.feed.publish(b"case.probe", b"{}")
        if await sub.poll(100):
            break
    while await sub.poll(200):  # drain the probes
        await sub.recv_multipart()
    seat = await seat_of(service, channel, "seat-feed", "auth-feed", 1, ["cash"]).connect()
    d = await pbg.TellerChannelStub(channel).Authorize(withdrawal("feed-1", "60000"))
    seat.accept((await seat.next_of("offer")).offer.case.case_id)
    assigned = (await seat.next_of("assigned")).assigned.case
    seat.decide(d.case_id, assigned.version, pb.APPROVE)
    events = []
    while not events or events[-1]["kind"] != "approved":
        topic, body = await asyncio.wait_for(sub.recv_multipart(), 10)
        event = json.loads(body)
        if event["case_id"] == d.case_id:
            assert topic.decode() == f"case.{event['kind']}"
            events.append(event)
    assert [e["kind"] for e in events] == ["created", "offered", "review-started", "approved"]
    assert [e["version"] for e in events] == [1, 2, 3, 4]
    assert events[-1]["account_masked"] == "************2222"
    assert events[-1]["amount"] == "60000" and events[-1]["scene"] == "cash-withdrawal"
    assert events[2]["data"]["operator_id"] == "auth-feed"
    sub.close()
    await seat.close()


async def test_cancel_during_an_offer_revokes_it_and_frees_the_seat(service, channel):
    seat = await seat_of(service, channel, "seat-c", "auth-c", 1, ["cash"]).connect()
    teller = pbg.TellerChannelStub(channel)
    d = await teller.Authorize(withdrawal("cancel-1", "60000"))
    assert (await seat.next_of("offer")).offer.case.case_id == d.case_id
    update = await teller.CancelCase(pb.CancelCaseRequest(case_id=d.case_id, reason="customer left"))
    assert update.state == pb.CANCELLED and update.final
    revoked = (await seat.next_of("revoked")).revoked
    assert revoked.case_id == d.case_id and revoked.reason == "case cancelled"
    d2 = await teller.Authorize(withdrawal("cancel-2", "60000"))
    assert (await seat.next_of("offer")).offer.case.case_id == d2.case_id
    await seat.close()


async def test_a_case_nobody_decides_expires_and_the_offer_is_revoked(start_service):
    async with running(start_service, case_expiry=1.5) as (svc, channel):
        seat = await seat_of(svc, channel, "seat-x", "auth-x", 1, ["cash"]).connect()
        teller = pbg.TellerChannelStub(channel)
        d = await teller.Authorize(withdrawal("exp-1", "60000"))
        assert (await seat.next_of("offer")).offer.case.case_id == d.case_id
        revoked = (await seat.next_of("revoked", timeout=10)).revoked
        assert revoked.case_id == d.case_id and revoked.reason == "case expired"
        states = [u.state async for u in teller.WatchCase(pb.WatchCaseRequest(case_id=d.case_id))]
        assert states[-1] == pb.EXPIRED
        await seat.close()


async def test_an_away_seat_is_skipped_until_it_is_available_again(service, channel):
    away = await seat_of(service, channel, "seat-away", "auth-away", 1, ["cash"]).connect()
    away.set_presence(pb.AWAY)
    assert (await away.next_of("presence")).presence.presence == pb.AWAY
    d = await pbg.TellerChannelStub(channel).Authorize(withdrawal("away-1", "60000"))
    other = await seat_of(service, channel, "seat-back", "auth-back", 1, ["cash"]).connect()
    assert (await other.next_of("offer")).offer.case.case_id == d.case_id
    away.set_presence(pb.AVAILABLE)
    nxt = await away.next()  # no offer reached the away seat in the meantime
    assert nxt.WhichOneof("body") == "presence" and nxt.presence.presence == pb.AVAILABLE
    await away.close()
    await other.close()


async def test_a_scoped_seat_gets_only_cases_of_its_units(service, channel):
    shanghai = await seat_of(service, channel, "seat-sh", "auth-sh", 1, ["cash"],
                                scope=["BR-SH"]).connect()
    teller = pbg.TellerChannelStub(channel)

    def at(outlet: str, key: str) -> pb.TellerRequest:
        r = withdrawal(key, "120000")
        r.outlet_id = outlet
        return r

    chengdu = await teller.Authorize(at("OUT-CD-001", "scope-cd"))
    local = await teller.Authorize(at("OUT-SH-002", "scope-sh"))
    offer = (await shanghai.next_of("offer")).offer.case
    assert offer.case_id == local.case_id  # the Chengdu case, older, was passed over
    central = await seat_of(service, channel, "seat-hq", "auth-hq", 1, ["cash"]).connect()
    assert (await central.next_of("offer")).offer.case.case_id == chengdu.case_id
    await shanghai.close()
    await central.close()


def limit_change(key: str, new_limit: str) -> pb.TellerRequest:
    return pb.TellerRequest(operator_id="teller-1", outlet_id="0101", terminal_id="T1",
                            transaction=pb.Transaction(code="LIMIT_CHANGE", customer_id="cust-l",
                                                       idempotency_key=key,
                                                       extra={"new_limit": new_limit}))


async def test_declared_facts_are_converted_and_a_wrong_value_is_refused_by_name(service, channel):
    teller = pbg.TellerChannelStub(channel)
    high = await teller.Authorize(limit_change("l-1", "600000.00"))  # text over gRPC, a decimal in rules
    assert high.outcome == pb.REQUIRED and high.authority_level == 2
    assert "new limit 600,000 ≥ 500,000" in [f.reason for f in high.fired]
    for bad in ("lots", "1000.123"):  # not a number; more decimals than declared
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await teller.Authorize(limit_change(f"l-{bad}", bad))
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert e.value.details().startswith("extra.new_limit: ")
