"""`foureyes demo`: a whole service on free ports in a temporary directory, driven end to end."""

from __future__ import annotations

import tempfile
from pathlib import Path

import grpc
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg
from foureyes.service.app import Service
from foureyes.service.client import channel_tokens, secure_channel
from foureyes.service.seat_client import SeatClient
from foureyes.service.settings import Settings

OUTCOMES = {pb.NOT_REQUIRED: "NOT_REQUIRED", pb.REQUIRED: "REQUIRED", pb.REFUSED: "REFUSED"}


def show(label: str, d: pb.Decision) -> None:
    line = f"  {label}: {OUTCOMES[d.outcome]}"
    if d.case_id:
        line += f" case {d.case_id} scene {d.scene.id} level {d.authority_level}"
    print(line)
    for f in d.fired:
        print(f"      rule {f.id}: {f.reason}")


async def review(seat: SeatClient, verdict: pb.Verdict, reason: str = "") -> str:
    offer = await seat.next_of("offer")
    print(f"  seat {seat.login.seat_id}: offered {offer.offer.case.case_id} "
          f"({offer.offer.case.scene.name})")
    seat.accept(offer.offer.case.case_id)
    assigned = (await seat.next_of("assigned")).assigned.case
    seat.decide(assigned.case_id, assigned.version, verdict, reason_code=reason)
    decided = (await seat.next_of("decided")).decided
    return pb.CaseState.Name(decided.state)


async def run_demo() -> int:
    with tempfile.TemporaryDirectory(prefix="foureyes-demo-") as tmp:
        service = Service(Settings(grpc_port=0, metrics_port=0, feed_port=0, console_port=0,
                                   data_dir=Path(tmp), offer_timeout=10,
                                   evidence_gate=False))  # no images here
        print("starting a local service (Ray takes a few seconds) ...", flush=True)
        await service.start()
        print(f"gRPC: {service.grpc_address}\nmetrics: {service.metrics_url}")
        c = service.credentials
        print(f"TLS with the development CA {c.tls.ca.name}; each channel system and the seat "
              "send their own token")
        try:
            async with secure_channel(service.grpc_address, c.tls.ca_bytes(),
                                      channel_tokens(c.new_tokens)) as channel:
                await drive(channel, c.new_passwords["auth-1"])
        finally:
            await service.stop()
    print("demo finished")
    return 0


async def drive(channel: grpc.aio.Channel, password: str) -> None:
    teller = pbg.TellerChannelStub(channel)
    kiosk = pbg.SelfServiceChannelStub(channel)
    mobile = pbg.MobileChannelStub(channel)
    # level and skills come from the operator directory: the login asks for none
    seat = await SeatClient(channel, "seat-01", "auth-1", 0, [], password=password).connect()
    print("seat seat-01 logged in as auth-1 (signed in; level and skills from the directory)")

    print("1. teller: cash withdrawal 3,000")
    show("answer", await teller.Authorize(pb.TellerRequest(
        operator_id="teller-1", outlet_id="0101", transaction=pb.Transaction(
            code="CASH_WITHDRAWAL", amount="3000", currency="CNY", account="6222000011112222",
            customer_id="cust-1", idempotency_key="demo-1"))))

    print("2. teller: cash withdrawal 80,000")
    d = await teller.Authorize(pb.TellerRequest(
        operator_id="teller-1", outlet_id="0101", transaction=pb.Transaction(
            code="CASH_WITHDRAWAL", amount="80000", currency="CNY", account="6222000011112222",
            customer_id="cust-1", idempotency_key="demo-2")))
    show("answer", d)
    watch = teller.WatchCase(pb.WatchCaseRequest(case_id=d.case_id))
    print(f"  seat decided: {await review(seat, pb.APPROVE)}")
    async for update in watch:
        print(f"  teller sees: {pb.CaseState.Name(update.state)} (version {update.version})")

    print("3. self-service: withdrawal from a blocked account")
    show("answer", await kiosk.Authorize(pb.SelfServiceRequest(
        device_id="atm-9", outlet_id="0101", transaction=pb.Transaction(
            code="CASH_WITHDRAWAL", amount="500", account_status="BLOCKED",
            customer_id="cust-2", idempotency_key="demo-3"))))

    print("4. mobile: wealth product riskier than the customer")
    d = await mobile.Authorize(pb.MobileRequest(
        app_id="bank-app", session_id="s-42", device_id="phone-1", transaction=pb.Transaction(
            code="WEALTH_PURCHASE", amount="20000", customer_id="cust-3", product_risk_level=4,
            customer=pb.Customer(age=45, risk_level=2), idempotency_key="demo-4")))
    show("answer", d)
    print(f"  seat decided: {await review(seat, pb.REJECT, 'UNSUITABLE')}")
    final = [u async for u in mobile.WatchCase(pb.WatchCaseRequest(case_id=d.case_id))][-1]
    print(f"  mobile sees: {pb.CaseState.Name(final.state)} reason {final.reason_code}")
    await seat.close()
