"""Who may call: channel system tokens, the operator directory, sessions, seat logins checked
against the directory, and four eyes on rule changes (the classes alone, no server)."""

import json
import time

import jwt
import pytest
from foureyes.errors import Conflict, NotFound, PermissionDenied, Unauthenticated
from foureyes.gateway.gateway import SeatLogin
from foureyes.gateway.rule_registry import RuleRegistry
from foureyes.rules.book import DEFAULT_RULES
from foureyes.rules.files import contents
from foureyes.security import credentials
from foureyes.security.directory import Operator, OperatorDirectory
from foureyes.security.sessions import Sessions
from foureyes.security.systems import System, Systems


def test_a_system_token_maps_to_its_channels_and_outlets(tmp_path):
    tokens = Systems.create(tmp_path / "systems.json", [
        System("branch-tellers", frozenset({"teller"}), frozenset({"0101"})),
        System("app", frozenset({"mobile"}))])
    systems = Systems(tmp_path / "systems.json")
    assert tokens["app"] not in (tmp_path / "systems.json").read_text()  # only its hash is kept
    tellers = systems.authenticate(tokens["branch-tellers"])
    tellers.may_call("teller", "0101")
    with pytest.raises(PermissionDenied, match="mobile"):
        tellers.may_call("mobile", "0101")
    with pytest.raises(PermissionDenied, match="outlet"):
        tellers.may_call("teller", "0202")
    for bad in ("", "fes_guess", tokens["app"] + "x"):
        with pytest.raises(Unauthenticated):
            systems.authenticate(bad)


def test_passwords_are_hashed_and_a_disabled_operator_cannot_act(tmp_path):
    path = tmp_path / "operators.json"
    OperatorDirectory.create(path, [(Operator("a1", level=2, roles=frozenset({"authorizer"})),
                                     "correct horse")])
    directory = OperatorDirectory(path)
    assert "correct horse" not in path.read_text() and path.stat().st_mode & 0o077 == 0
    assert directory.verify_password("a1", "correct horse").level == 2
    for who, password in (("a1", "wrong"), ("nobody", "correct horse"), ("a1", "")):
        with pytest.raises(Unauthenticated, match="wrong operator id or password"):
            directory.verify_password(who, password)
    OperatorDirectory(path).update("a1", disabled=True)  # another process edits the file
    assert directory.refresh()
    with pytest.raises(Unauthenticated):
        directory.active("a1")
    with pytest.raises(Unauthenticated):
        directory.verify_password("a1", "correct horse")


def test_a_session_names_its_operator_until_it_expires_and_cannot_be_forged():
    sessions = Sessions(b"k" * 32, ttl_seconds=60)
    token, expires = sessions.issue("a1")
    assert sessions.operator_of(token) == "a1" and expires > time.time()
    forged = jwt.encode({"sub": "boss", "iss": "foureyes", "exp": int(time.time()) + 60},
                        b"x" * 32, algorithm="HS256")
    with pytest.raises(Unauthenticated, match="not a session"):
        sessions.operator_of(forged)
    expired = jwt.encode({"sub": "a1", "iss": "foureyes", "exp": int(time.time()) - 5},
                         b"k" * 32, algorithm="HS256")
    with pytest.raises(Unauthenticated, match="expired"):
        sessions.operator_of(expired)
    with pytest.raises(Unauthenticated, match="no credentials"):
        sessions.operator_of("")


AUTH = Operator("a1", level=2, skills=("cash", "wealth"), scope=("BR-SH",), outlet="OUT-1",
                roles=frozenset({"authorizer"}))


def login(**kw) -> SeatLogin:
    base = {"seat_id": "s1", "operator_id": "", "level": 0, "skills": (), "capacity": 1}
    return SeatLogin(**{**base, **kw})


def test_a_seat_login_gets_what_the_directory_gives_and_no_more():
    granted = login().granted_by(AUTH)
    assert (granted.operator_id, granted.level, granted.skills, granted.scope, granted.outlet) == (
        "a1", 2, ("cash", "wealth"), ("BR-SH",), "OUT-1")
    assert login(level=1, skills=("cash",)).granted_by(AUTH).skills == ("cash",)
    for claim, match in ((login(level=9), "level 9"), (login(supervisor=True), "supervisor"),
                         (login(skills=("cash", "fx")), "skills"),
                         (login(scope=("HQ",)), "may serve only"),
                         (login(operator_id="boss"), "session is"),
                         (login(outlet="OUT-9"), "sits at")):
        with pytest.raises(PermissionDenied, match=match):
            claim.granted_by(AUTH)
    with pytest.raises(PermissionDenied, match="authorizer or supervisor"):
        login().granted_by(Operator("author", roles=frozenset({"rule_author"})))


def test_a_rule_change_is_active_only_after_a_second_person_approves(tmp_path):
    registry = RuleRegistry(tmp_path)
    first = registry.publish_dir(DEFAULT_RULES, "bundled rules at first start")
    files = contents(DEFAULT_RULES)
    files["triggers.yaml"] = files["triggers.yaml"].replace("default: 50000", "default: 70000")
    del files["triggers_test.yaml"]
    with pytest.raises(Conflict, match="active one already"):
        registry.propose_files(contents(DEFAULT_RULES), "the same again", by="author-1")
    proposal = registry.propose_files(files, "raise the threshold", by="author-1")
    assert proposal.pending and registry.active_version == first.version
    assert [p.version for p in registry.pending()] == [proposal.version]
    with pytest.raises(PermissionDenied, match="other than its proposer"):
        registry.approve(proposal.version, by="author-1")
    assert registry.active_version == first.version
    book = registry.approve(proposal.version, by="approver-1")
    assert registry.active_version == book.version == proposal.version and not registry.pending()
    last = registry.history()[-1]
    assert (last.proposed_by, last.approved_by, last.comment) == (
        "author-1", "approver-1", "raise the threshold")
    with pytest.raises(NotFound):
        registry.approve(proposal.version, by="approver-2")  # approved already
    back = registry.propose_rollback("", "", by="author-1")
    assert back.version == first.version and registry.active_version == proposal.version
    registry.approve(back.version, by="approver-1")
    assert registry.active_version == first.version


def test_first_start_makes_development_credentials_once_and_private(tmp_path):
    made = credentials.load(tmp_path, credentials.CredentialFiles())
    assert set(made.new_tokens) == {"teller", "self_service", "mobile"}
    assert {op.operator_id for op in made.directory.all()} >= {"auth-1", "author-1", "approver-1"}
    home = tmp_path / "credentials"
    for f in home.iterdir():
        assert f.stat().st_mode & 0o077 == 0, f
    assert json.loads((home / "systems.json").read_text())["systems"][0]["token_sha256"]
    again = credentials.load(tmp_path, credentials.CredentialFiles())
    assert not again.new_tokens and not again.new_passwords  # shown once, never again
    again.systems.authenticate(made.new_tokens["teller"])
    again.directory.verify_password("auth-1", made.new_passwords["auth-1"])


def test_guessing_a_password_locks_that_operator_for_a_window_and_is_audited(tmp_path):
    from foureyes.errors import ResourceExhausted
    from foureyes.security.guard import Guard
    from foureyes.security.throttle import SignInThrottle

    made = credentials.load(tmp_path, credentials.CredentialFiles())
    now = [1000.0]
    audited: list[tuple[str, str, str]] = []
    guard = Guard(made, lambda event, actor, outcome, _: audited.append((event, actor, outcome)),
                  SignInThrottle(limit=3, window=60, clock=lambda: now[0]))
    right = made.new_passwords["auth-1"]
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            guard.sign_in("auth-1", "guess", "")
    with pytest.raises(ResourceExhausted, match="try again in 60 s"):
        guard.sign_in("auth-1", right, "")  # even the right password: the account is locked
    assert audited[-1] == ("sign-in", "auth-1", "locked")
    assert guard.sign_in("auth-2", made.new_passwords["auth-2"], "")[2].operator_id == "auth-2"
    now[0] += 61  # the failures age out
    assert guard.sign_in("auth-1", right, "")[2].operator_id == "auth-1"
    with pytest.raises(Unauthenticated):
        guard.sign_in("auth-1", "guess", "")
    assert guard.sign_in("auth-1", right, "")[2].operator_id == "auth-1"  # a success clears it
