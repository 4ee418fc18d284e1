"""The wire's codec: msgpack of explicit shapes, no pickle (no sockets here)."""

import dataclasses
import logging
import pickle

import msgpack
import pytest
from foureyes import errors
from foureyes.actors.case import CaseSpec, CaseState
from foureyes.actors.customer import Observation
from foureyes.messaging import codec
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.specs import spec


def roundtrip(value):
    return codec.decode(codec.encode(value))


def test_the_registered_dataclasses_come_back_equal_with_their_tuples():
    s = spec()
    back = roundtrip(s)
    assert back == s and type(back) is CaseSpec and type(back.units) is tuple
    o = Observation("cust-1", "teller/k1", {"large_cash": 80000.0}, {"large_cash": 0})
    assert roundtrip(o) == o and type(roundtrip(o)) is Observation


def test_messages_batches_and_nested_containers_keep_their_shape():
    batch = [("offered", ("C1", "seat-1", "gw-1", 30_000)), ("get", ("C2",)),
             ("enqueue", ([{"case_id": "C3", "units": ["0101"], "details": {"fired": []}}],))]
    request = ["deliver", [batch]]
    back = roundtrip(request)
    assert back == request
    assert all(type(m) is tuple and type(m[1]) is tuple for m in back[1][0])
    nested = {"a": [1, (2, 3.5, None), {"b": b"\x00\xff", "c": True}], 7: "int keys too"}
    assert roundtrip(nested) == nested
    assert roundtrip([spec("C1"), spec("C2"), ValueError("x")])[:2] == [spec("C1"), spec("C2")]


@pytest.mark.parametrize("cls", [errors.FoureyesError, errors.InvalidRequest, errors.NotFound,
                                 errors.Conflict, errors.PermissionDenied, errors.Unavailable])
def test_each_error_of_the_hierarchy_comes_back_as_its_class_with_its_message(cls):
    back = roundtrip(cls("case C1 is APPROVED already"))
    assert type(back) is cls and str(back) == "case C1 is APPROVED already"


def test_errors_outside_the_hierarchy_and_with_their_own_parts():
    rule = roundtrip(errors.RuleError("a.yaml", 3, "r1", "bad"))
    assert type(rule) is errors.RuleError and str(rule) == "a.yaml:3: r1: bad"

    class Stale(errors.Conflict):  # defined elsewhere: travels as its nearest known class
        pass

    assert type(roundtrip(Stale("old"))) is errors.Conflict
    bug = roundtrip(KeyError("seat-9"))
    assert type(bug) is errors.FoureyesError and str(bug) == "KeyError: 'seat-9'"
    results = roundtrip([{"case_id": "C1"}, errors.Conflict("dup"), None])
    assert results[0] == {"case_id": "C1"} and type(results[1]) is errors.Conflict


def test_enums_travel_as_their_values():
    assert roundtrip({"state": CaseState.QUEUED}) == {"state": "QUEUED"}
    assert type(roundtrip(CaseState.QUEUED)) is str


def test_an_unregistered_class_does_not_leave_and_does_not_arrive():
    @dataclasses.dataclass
    class Stranger:
        x: int

    with pytest.raises(TypeError, match="Stranger cannot cross the wire"):
        codec.encode([(1, Stranger(1))])
    with pytest.raises(TypeError, match="object cannot cross"):
        codec.encode(object())
    assert roundtrip([1, (2, "after a refused value")]) == [1, (2, "after a refused value")]
    forged = msgpack.packb(msgpack.ExtType(codec.DATACLASS, msgpack.packb(["Stranger", [1]])))
    with pytest.raises(codec.Malformed, match="unregistered type 'Stranger'"):
        codec.decode(forged)


@pytest.mark.parametrize("data", [
    b"",
    b"\xc1",  # never used by msgpack
    b"not msgpack at all",
    pickle.dumps(("remember", ("forged",)), protocol=5),
    msgpack.packb(msgpack.ExtType(99, b"")),
    msgpack.packb(msgpack.ExtType(codec.TUPLE, b"\xc1")),
    msgpack.packb(msgpack.ExtType(codec.DATACLASS, msgpack.packb(["CaseSpec", ["too", "few"]]))),
    msgpack.packb(msgpack.ExtType(codec.DATACLASS, msgpack.packb([["CaseSpec"], []]))),
    msgpack.packb(msgpack.ExtType(codec.DATACLASS, msgpack.packb("CaseSpec"))),
    msgpack.packb(msgpack.ExtType(codec.ERROR, msgpack.packb(["Conflict"]))),
])
def test_what_is_not_a_well_formed_value_is_malformed_and_nothing_else(data):
    with pytest.raises(codec.Malformed):
        codec.decode(data)


def test_an_error_naming_an_unknown_class_is_a_foureyes_error():
    data = msgpack.packb(msgpack.ExtType(codec.ERROR, msgpack.packb(["os.system", "rm -rf /"])))
    back = codec.decode(data)
    assert type(back) is errors.FoureyesError and str(back) == "rm -rf /"


def test_a_name_is_registered_once():
    with pytest.raises(ValueError, match="taken by CaseSpec"):
        @codec.register
        @dataclasses.dataclass
        class CaseSpec:  # another class under a taken name
            x: int
    assert codec.register(Observation) is Observation  # the same class again is fine


leaves = (st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1)
          | st.floats(allow_nan=False) | st.text() | st.binary())
values = st.recursive(leaves, lambda inner: st.lists(inner) | st.tuples(inner, inner)
                      | st.dictionaries(st.text() | st.integers(-1000, 1000), inner), max_leaves=30)


@given(values)
def test_any_nested_plain_value_comes_back_equal_with_tuples_still_tuples(value):
    back = roundtrip(value)
    assert back == value
    assert _shape(back) == _shape(value)


def _shape(value):
    """Containers' types, which == alone does not tell apart (a list equals no tuple, but
    True == 1)."""
    if isinstance(value, (list, tuple)):
        return type(value), [_shape(v) for v in value]
    if isinstance(value, dict):
        return dict, sorted((repr(k), _shape(v)) for k, v in value.items())
    return type(value)


def test_drops_are_counted_each_time_and_logged_at_most_once_per_interval(caplog):
    now = [0.0]
    drops = codec.Drops("wire", every=10.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING):
        for i in range(5):
            now[0] = i
            drops(f"bad {i}")
        now[0] = 12.0
        drops("bad later")
    lines = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert drops.count == 6
    assert lines == ["wire: dropped 1 frame(s) (1 in all); last: bad 0",
                     "wire: dropped 5 frame(s) (6 in all); last: bad later"]


@codec.register
@dataclasses.dataclass(frozen=True)
class Checked:
    """A dataclass whose own __init__ does work: decoding goes through it."""

    amount: int
    doubled: int = dataclasses.field(init=False, default=0)

    def __post_init__(self):
        if self.amount < 0:
            raise ValueError("negative amount")
        object.__setattr__(self, "doubled", 2 * self.amount)


def test_a_dataclass_with_checks_of_its_own_is_built_through_them():
    assert roundtrip(Checked(21)).doubled == 42
    forged = msgpack.packb(msgpack.ExtType(codec.DATACLASS, msgpack.packb(["Checked", [-1]])))
    with pytest.raises(codec.Malformed, match="negative amount"):
        codec.decode(forged)
