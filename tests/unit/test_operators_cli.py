"""`foureyes operators …` changes the directory only for an operator_admin, and says so."""

import pytest
from foureyes.security import credentials
from foureyes.security.directory import OperatorDirectory
from foureyes.service.cli import main


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    made = credentials.load(tmp_path, credentials.CredentialFiles())
    monkeypatch.setenv("FOUREYES_PASSWORD", made.new_passwords["admin-1"])
    return tmp_path


def run(data_dir, *args):
    return main(["operators", *args, "--data-dir", str(data_dir), "--as", "admin-1"])


def test_an_admin_adds_disables_and_relevels_operators(data_dir, capsys, monkeypatch):
    monkeypatch.setenv("FOUREYES_NEW_PASSWORD", "first-password")
    assert run(data_dir, "add", "auth-9", "--level", "3", "--skills", "cash,wealth",
               "--roles", "authorizer,supervisor") == 0
    assert "first password (shown once): first-password" in capsys.readouterr().out
    directory = OperatorDirectory(data_dir / "credentials" / "operators.json")
    assert directory.verify_password("auth-9", "first-password").skills == ("cash", "wealth")
    assert run(data_dir, "set-level", "auth-9", "1") == 0
    assert run(data_dir, "disable", "auth-9") == 0
    directory.refresh()
    assert directory.get("auth-9").disabled and directory.get("auth-9").level == 1
    assert run(data_dir, "list") == 0
    listed = capsys.readouterr().out
    assert "auth-9" in listed and "DISABLED level 1" in listed


def test_without_the_operator_admin_role_or_password_nothing_changes(data_dir, capsys, monkeypatch):
    before = (data_dir / "credentials" / "operators.json").read_text()
    assert main(["operators", "disable", "auth-1", "--data-dir", str(data_dir),
                 "--as", "auth-2"]) == 1  # a wrong password for auth-2
    monkeypatch.setenv("FOUREYES_PASSWORD", "wrong")
    assert run(data_dir, "disable", "auth-1") == 1
    assert "refused" in capsys.readouterr().err
    assert (data_dir / "credentials" / "operators.json").read_text() == before
