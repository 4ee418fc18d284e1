"""Gateways are many and equal: a further gateway joins a running service (`serve --join`),
and channels and seats may use either, with one dispatcher and one set of rules."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from foureyes.errors import Unavailable
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg
from foureyes.service.app import Service
from foureyes.service.seat_client import SeatClient

from tests.integration.conftest import (
    _made_tokens,
    connect,
    enrol,
    publish_approved,
    review,
    seat_of,
)
from tests.integration.service_process import ServiceProcess
from tests.integration.test_event_feed import until
from tests.integration.test_rules_publishing import candidate, files_of, withdrawal

pytestmark = pytest.mark.integration


async def test_a_seat_on_a_joined_gateway_decides_what_a_channel_asked_on_the_first(
        start_service, tmp_path):
    data = tmp_path / "data"
    first = await start_service(data_dir=data)
    second = await start_service(data_dir=data, join=first.settings.instance)
    assert second.settings.instance == first.settings.instance
    assert second.grpc_port != first.grpc_port
    assert second.gateway.gateway_id != first.gateway.gateway_id
    try:
        async with connect(first) as ch1, connect(second) as ch2:
            teller = pbg.TellerChannelStub(ch1)
            seat = await seat_of(second, ch2, "seat-j", "auth-j", 2, ["cash"]).connect()
            d = await teller.Authorize(withdrawal("join-1"))
            assert d.case_id
            watch = teller.WatchCase(pb.WatchCaseRequest(case_id=d.case_id))
            await review(seat, d.case_id)  # the dispatcher pushed the offer to the other gateway
            async with asyncio.timeout(30):  # the channel hears it on its own gateway
                async for update in watch:
                    if update.state == pb.APPROVED:
                        break
            # and either gateway answers for the case
            now = await pbg.TellerChannelStub(ch2).WatchCase(
                pb.WatchCaseRequest(case_id=d.case_id)).read()
            assert (now.state, now.final) == (pb.APPROVED, True)
            await seat.close()
        # each gateway keeps its own decision log and audit log: one writer, one chain each
        assert len(list(data.glob("decisions-*.sqlite"))) == 2
        assert len(list(data.glob("audit-*.sqlite"))) == 2
    finally:
        await second.stop()
        await first.stop()


async def decided_through_a_joined_process(first: Service, keys: list[str],
                                           tmp_path: Path) -> None:
    """`serve --join` as an operator runs it (its own process and Ray driver, its inbox on the
    node's address, the wire keys from the service's hosts): a seat there decides the cases a
    channel asks for on `first`, which hears the outcome; a rule set approved through `first`
    is in force there within its heartbeat. Stopping it stops no host."""
    password = enrol(first, "auth-p", 2, ["cash"])  # the directory file both gateways read
    url = first.settings.database_url
    joined = ServiceProcess(first.settings.data_dir, "--join", first.settings.instance,
                            *(["--database-url", url] if url else [])).start()
    joined.tokens = _made_tokens(first)  # the channel systems' tokens, shown at first start
    try:
        async with connect(first) as ch1, joined.channel() as ch2:
            teller = pbg.TellerChannelStub(ch1)
            seat = await SeatClient(ch2, "seat-p", "auth-p", 2, ["cash"],
                                    password=password).connect()
            for key in keys:
                d = await teller.Authorize(withdrawal(key))
                await review(seat, d.case_id)
                now = await teller.WatchCase(pb.WatchCaseRequest(case_id=d.case_id)).read()
                assert now.state == pb.APPROVED
            await seat.close()
            published = await publish_approved(first, ch1, files_of(candidate(tmp_path, 70000)))
            on_joined = pbg.TellerChannelStub(ch2)
            for i in range(100):  # its heartbeat is 2 s
                d = await on_joined.Authorize(withdrawal(f"{keys[0]}-rules-{i}"))
                if d.rules_version == published.version:
                    break
                await asyncio.sleep(0.1)
            assert (d.rules_version, d.outcome) == (published.version, pb.NOT_REQUIRED)
        joined.signal(signal.SIGTERM)
        assert await asyncio.to_thread(joined.wait, 60) == 0
        async with connect(first) as ch1:  # the service's hosts still serve
            later = await pbg.TellerChannelStub(ch1).Authorize(
                withdrawal(f"{keys[0]}-after", "90000"))  # over the new 70,000 too
            assert later.outcome == pb.REQUIRED and later.case_id
    finally:
        if joined.proc is not None and joined.proc.poll() is None:
            joined.proc.kill()


async def test_a_gateway_joined_from_its_own_process_serves_a_seat_and_leaves_the_hosts(
        start_service, tmp_path):
    first = await start_service(data_dir=tmp_path / "data")
    try:
        await decided_through_a_joined_process(first, ["proc-1"], tmp_path)
    finally:
        await first.stop()


async def test_a_rule_publish_through_one_gateway_is_in_force_on_the_other(
        start_service, tmp_path):
    data = tmp_path / "data"
    first = await start_service(data_dir=data)
    second = await start_service(data_dir=data, join=first.settings.instance)
    try:
        async with connect(first) as ch1, connect(second) as ch2:
            before = await pbg.TellerChannelStub(ch2).Authorize(withdrawal("p-1"))
            assert before.outcome == pb.REQUIRED  # 60,000 is above the bundled 50,000
            published = await publish_approved(first, ch1, files_of(candidate(tmp_path, 70000)))
            await until(lambda: second.gateway.book.version == published.version, timeout=15)
            after = await pbg.TellerChannelStub(ch2).Authorize(withdrawal("p-2"))
            assert after.rules_version == published.version
            assert after.outcome == pb.NOT_REQUIRED
    finally:
        await second.stop()
        await first.stop()


async def test_joining_a_service_that_is_not_running_is_refused(start_service, tmp_path):
    first = await start_service(data_dir=tmp_path / "data")
    try:
        with pytest.raises(Unavailable, match="--join nobody: no such service runs in this Ray"):
            await start_service(data_dir=tmp_path / "data", join="nobody")
    finally:
        await first.stop()


def test_serve_join_without_a_ray_address_explains(tmp_path):
    out = subprocess.run([sys.executable, "-m", "foureyes.service.cli", "serve", "--join",
                          "--data-dir", str(tmp_path / "data")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "--join needs --ray-address" in out.stderr


async def test_with_postgresql_a_gateway_elsewhere_follows_the_rules_through_the_store(
        start_service, tmp_path, postgres_url):
    """The joined gateway has a data directory of its own (another machine): the rules and
    the operators come from the shared store, never from its empty directory's own."""
    keys = tmp_path / "keys"  # the bank's key files, given to both machines
    first = await start_service(data_dir=tmp_path / "a", database_url=postgres_url,
                                keys_dir=keys)
    elsewhere = tmp_path / "b"
    try:
        published = await _publish_on(first, tmp_path)
        second = await start_service(data_dir=elsewhere, database_url=postgres_url,
                                     keys_dir=keys, join=first.settings.instance)
        try:
            assert second.gateway.book.version == published.version  # at start
            assert (elsewhere / "rules" / published.version).is_dir()
            again = await _publish_on(first, tmp_path, 80000)  # and while both run
            await until(lambda: second.gateway.book.version == again.version, timeout=15)
            async with connect(second) as ch2:
                d = await pbg.TellerChannelStub(ch2).Authorize(withdrawal("pg-1", "75000"))
                assert (d.rules_version, d.outcome) == (again.version, pb.NOT_REQUIRED)
            # an operator enrolled on the first machine signs in at a seat on the other
            password = enrol(first, "auth-pg", 2, ["cash"])
            await until(lambda: "auth-pg" in {o.operator_id
                                              for o in second.credentials.directory.all()},
                        timeout=15)
            async with connect(first) as ch1, connect(second) as ch2:
                seat = await SeatClient(ch2, "seat-pg", "auth-pg", 2, ["cash"],
                                        password=password).connect()
                d = await pbg.TellerChannelStub(ch1).Authorize(withdrawal("pg-2", "90000"))
                assert (await seat.next_of("offer")).offer.case.case_id == d.case_id
                await seat.close()
        finally:
            await second.stop()
    finally:
        await first.stop()


async def _publish_on(svc: Service, tmp_path, limit: int = 70000) -> pb.RuleSetVersion:
    async with connect(svc) as ch:
        return await publish_approved(svc, ch, files_of(candidate(tmp_path, limit)))


async def test_a_gateway_joining_with_no_rules_to_follow_is_refused(start_service, tmp_path):
    first = await start_service(data_dir=tmp_path / "a")
    try:  # another data directory and no shared store: nothing to follow
        with pytest.raises(Unavailable, match="no active rule set to join with"):
            await start_service(data_dir=tmp_path / "b", join=first.settings.instance)
    finally:
        await first.stop()
