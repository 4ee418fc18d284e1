"""Two gateways of one service on a two-node cluster, with SQLite files and with PostgreSQL:
the hosts spread over both nodes, a seat on a gateway that joined from its own process, the
channel on the first, a rule publish through the first in force on the joined one."""

from __future__ import annotations

import pytest

from tests.cluster.test_placement import _nodes_of, _start
from tests.integration.test_gateways import decided_through_a_joined_process
from tests.integration.test_restarts import keys_on

pytestmark = pytest.mark.cluster


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request):
    return request.getfixturevalue("postgres_url") if request.param == "postgresql" else None


async def test_a_seat_on_a_joined_gateway_decides_cases_of_hosts_on_both_nodes(
        cluster, tmp_path, database_url):
    svc = await _start(cluster, tmp_path / "data", database_url=database_url)
    try:
        nodes = await _nodes_of(svc)
        assert nodes["cases-0"] != nodes["cases-1"]
        await decided_through_a_joined_process(
            svc, [next(keys_on(0, 2, "two-gw")), next(keys_on(1, 2, "two-gw"))], tmp_path)
    finally:
        await svc.stop()
