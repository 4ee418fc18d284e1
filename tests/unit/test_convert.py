"""What the channel edge accepts of a request, as the .proto documents it."""

import pytest
from foureyes.channel_adapters.convert import channel_request
from foureyes.errors import InvalidRequest
from foureyes.protos import foureyes_pb2 as pb


def request(amount: str = "100", key: str = "k-1") -> pb.TellerRequest:
    return pb.TellerRequest(operator_id="t-1", transaction=pb.Transaction(
        code="CASH_WITHDRAWAL", amount=amount, account="6222000011112222", idempotency_key=key))


def convert(req: pb.TellerRequest):
    return channel_request("teller", "t-1", "", {}, req.transaction, req)


@pytest.mark.parametrize("amount", ["0", "80000", "80000.00", "0.5", "999999999999999999.99"])
def test_amounts_in_the_documented_grammar_are_taken(amount):
    assert convert(request(amount)).facts["transaction.amount"] == float(amount)


@pytest.mark.parametrize("amount", ["-1", "+5", "1e9", " 5", "5 ", "1_000", "1,000", "NaN",
                                    "Infinity", ".5", "5.", "1.23456", "1" * 19, "８０", "٨٠"])
def test_other_amounts_are_refused_naming_the_grammar(amount):
    with pytest.raises(InvalidRequest, match="not a decimal amount"):
        convert(request(amount))


def test_the_idempotency_key_is_required_and_bounded():
    with pytest.raises(InvalidRequest, match="required"):
        convert(request(key=""))
    with pytest.raises(InvalidRequest, match="longer than 200"):
        convert(request(key="k" * 201))
    assert convert(request(key="k" * 200)).idempotency_key == "k" * 200


def test_the_account_is_masked_and_a_changed_field_changes_the_fingerprint():
    a, b = convert(request()), convert(request(amount="101"))
    assert a.account_masked == "************2222"
    assert a.fingerprint != b.fingerprint and a.fingerprint == convert(request()).fingerprint


@pytest.mark.parametrize(("amount", "currency", "ok"), [
    ("100.25", "CNY", True), ("100.255", "CNY", False), ("100", "JPY", True),
    ("100.5", "JPY", False), ("1.125", "KWD", True), ("1.1255", "KWD", False)])
def test_an_amount_carries_at_most_its_currency_s_decimals(amount, currency, ok):
    req = request(amount)
    req.transaction.currency = currency
    if ok:
        assert convert(req).facts["transaction.amount"] == float(amount)
    else:
        with pytest.raises(InvalidRequest, match="decimals"):
            convert(req)


@pytest.mark.parametrize(("field", "value", "match"), [
    ("code", "X" * 65, "transaction.code"), ("customer_id", "c" * 65, "customer_id"),
    ("currency", "cny", "ISO 4217"), ("account", "6" * 65, "transaction.account")])
def test_over_long_or_malformed_text_is_refused_naming_the_field(field, value, match):
    req = request()
    setattr(req.transaction, field, value)
    with pytest.raises(InvalidRequest, match=match):
        convert(req)


def test_extra_attributes_and_trigger_codes_are_bounded():
    req = request()
    req.transaction.extra.update({f"k{i}": "v" for i in range(64)})
    assert convert(req).facts["extra.k63"] == "v"
    req.transaction.extra["one-too-many"] = "v"
    with pytest.raises(InvalidRequest, match="at most 64"):
        convert(req)
    req = request()
    req.transaction.trigger_codes.extend(["T"] * 33)
    with pytest.raises(InvalidRequest, match="trigger_codes"):
        convert(req)
