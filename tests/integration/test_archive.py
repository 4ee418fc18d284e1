"""Retention end to end: a stopped service's closed cases are archived, both chains verify,
the service starts again on the cut live shard, serves, and keeps chaining after the marker."""

from __future__ import annotations

import grpc
import pytest
from foureyes.protos import foureyes_pb2 as pb
from foureyes.protos import foureyes_pb2_grpc as pbg
from foureyes.service.cli import main
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.integration.conftest import ALL_SKILLS, connect, seat_of
from tests.integration.test_records import request

pytestmark = pytest.mark.integration


async def test_archive_while_stopped_then_serve_and_verify(start_service, capsys):
    svc = await start_service()
    async with connect(svc) as ch:
        teller = pbg.TellerChannelStub(ch)
        seat = await seat_of(svc, ch, "seat-a", "auth-a", 2, ALL_SKILLS).connect()
        closed = await teller.Authorize(request("closed"))
        seat.accept((await seat.next_of("offer")).offer.case.case_id)
        case = (await seat.next_of("assigned")).assigned.case
        seat.decide(closed.case_id, case.version, pb.REJECT, reason_code="NO")
        await seat.next_of("decided")
        await seat.close()
        still_open = await teller.Authorize(request("open"))
    await svc.stop()
    data = svc.settings.data_dir
    capsys.readouterr()

    assert main(["archive", "--data-dir", str(data), "--retention-months", "0",
                 "--before", "2099-01-01"]) == 0
    out = capsys.readouterr().out
    assert "cases-0: moved 1 closed case(s)" in out and "1 open case(s) older" in out, out
    assert main(["audit", "verify", "--data-dir", str(data)]) == 0, capsys.readouterr().out

    svc = await start_service(data)
    async with connect(svc) as ch:
        health = health_pb2_grpc.HealthStub(ch)
        assert (await health.Check(health_pb2.HealthCheckRequest())).status == \
            health_pb2.HealthCheckResponse.SERVING
        teller = pbg.TellerChannelStub(ch)
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await anext(aiter(teller.WatchCase(pb.WatchCaseRequest(case_id=closed.case_id))))
        assert e.value.code() == grpc.StatusCode.NOT_FOUND, e.value.details()
        update = await anext(aiter(teller.WatchCase(pb.WatchCaseRequest(
            case_id=still_open.case_id))))
        assert update.case_id == still_open.case_id
        # the customer history counts the earlier withdrawals: the answer may need a case
        assert (await teller.Authorize(request("after", "100"))).outcome in (
            pb.NOT_REQUIRED, pb.REQUIRED)
    await svc.stop()
    capsys.readouterr()
    assert main(["audit", "verify", "--data-dir", str(data)]) == 0, capsys.readouterr().out
