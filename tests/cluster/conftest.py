"""A Ray cluster of a head and one worker node on this machine, each with its own disk name
(a custom resource), and Ray's node-death detection made quick. Not the session Ray of
tests/conftest.py: these tests run in their own pytest invocation (run.sh test)."""

from __future__ import annotations

import logging
import shutil
import tempfile

import pytest
import ray
from foureyes.actors.shards import NAMESPACE
from ray.cluster_utils import Cluster

# Ray marks a node dead after this many missed health checks, this far apart (defaults
# 3000 ms x 5 = 15 s); README "Running on a cluster"
HEALTH = {"health_check_period_ms": 500, "health_check_failure_threshold": 4}


@pytest.fixture(scope="module")
def cluster():
    # its own temporary directory: Ray records a running cluster's address in the default one
    # (/tmp/ray/ray_current_cluster), and every plain `ray.init()` on the machine (the other
    # test suites) would then join this cluster instead of starting its own
    temp = tempfile.mkdtemp(prefix="rayc-", dir="/tmp")
    c = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "resources": {"foureyes_disk_head": 1}, "_system_config": HEALTH,
        "temp_dir": temp})
    c.worker = c.add_node(num_cpus=1, resources={"foureyes_disk_w1": 1})
    c.wait_for_nodes()
    ray.init(address=c.address, namespace=NAMESPACE, include_dashboard=False,
             logging_level=logging.WARNING)
    yield c
    ray.shutdown()
    c.shutdown()
    shutil.rmtree(temp, ignore_errors=True)
