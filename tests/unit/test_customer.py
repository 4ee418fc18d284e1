"""History windows kept by the customer's actor, on a real SQLite file."""

from foureyes.actors.customer import CustomerShard, Observation, start_of_day
from foureyes.store.customers import CustomerStore

HOUR = 3600
WINDOWS = {"transfers_1h": HOUR, "cash_today": 0}


async def shard(tmp_path) -> CustomerShard:
    store = CustomerStore(tmp_path / "customers.sqlite")
    await store.open()
    return CustomerShard(store)


def obs(key: str, counters: dict[str, float], customer: str = "C1") -> Observation:
    return Observation(customer, key, counters, WINDOWS)


async def test_rolling_window_boundary(tmp_path):
    s = await shard(tmp_path)
    t0 = start_of_day(1_800_000_000) + 12 * HOUR  # noon, far from midnight
    await s.observe([obs("a", {"transfers_1h": 1})], now=t0)
    [totals] = await s.observe([obs("b", {"transfers_1h": 1})], now=t0 + HOUR - 1)
    assert totals["transfers_1h"] == 2  # a is 59:59 old: still inside
    [totals] = await s.observe([obs("c", {"transfers_1h": 1})], now=t0 + HOUR)
    assert totals["transfers_1h"] == 2  # a is exactly one hour old: out; b and c in
    await s.store.close()


async def test_today_window_starts_at_midnight_and_retries_count_once(tmp_path):
    s = await shard(tmp_path)
    midnight = start_of_day(1_800_000_000 + 86400)
    await s.observe([obs("a", {"cash_today": 40000})], now=midnight - 1)
    [totals] = await s.observe([obs("b", {"cash_today": 30000})], now=midnight)
    assert totals["cash_today"] == 30000  # yesterday 23:59:59 does not count today
    [totals] = await s.observe([obs("b", {"cash_today": 30000})], now=midnight + 5)
    assert totals["cash_today"] == 30000  # the same key again is a retry
    [totals] = await s.observe([obs("c", {"cash_today": 1000})], now=midnight + 10)
    assert totals == {"cash_today": 31000, "transfers_1h": 0}
    await s.store.close()


async def test_a_restarted_shard_reloads_the_window_from_the_store(tmp_path):
    s = await shard(tmp_path)
    t0 = start_of_day(1_800_000_000) + 12 * HOUR
    await s.observe([obs("a", {"transfers_1h": 1}), obs("x", {"transfers_1h": 1}, "C2")], now=t0)
    await s.store.close()
    again = await shard(tmp_path)
    [c1, c2] = await again.observe([obs("b", {"transfers_1h": 1}), obs("y", {}, "C2")],
                                   now=t0 + 60)
    assert c1["transfers_1h"] == 2 and c2["transfers_1h"] == 1  # y only reads
    await again.store.close()
