"""Key files wrapped by a key-encryption key from the bank's KMS (FOUREYES_KEK_COMMAND): a copy
of the keys directory alone opens nothing; what was sealed before wrapping still opens."""

from __future__ import annotations

import shlex
import sys

import pytest
from foureyes.security import keys
from foureyes.service.cli import main
from foureyes.store.sealing import AtRest

KEK = "5a" * 32
ID_NO = "110101199003071234"


def printing(text: str) -> str:
    """A command printing `text`, as a KMS client would print the key."""
    return shlex.join([sys.executable, "-c", f"print({text!r})"])


def key_files(keys_dir):
    return sorted(p for p in keys_dir.iterdir() if p.name.endswith(".key"))


def test_new_key_files_are_wrapped_and_read_back_only_with_the_kek(tmp_path, monkeypatch):
    monkeypatch.setenv(keys.KEK_COMMAND, printing(KEK))
    ring = keys.ensure(tmp_path / "keys")
    for path in key_files(tmp_path / "keys"):
        text = path.read_text()
        assert text.startswith("wrapped:")
        assert text.strip() != getattr(ring, path.stem, b"").hex()
    assert ring.chain.hex() not in "".join(p.read_text() for p in key_files(tmp_path / "keys"))
    assert keys.load(tmp_path / "keys") == ring

    monkeypatch.delenv(keys.KEK_COMMAND)
    with pytest.raises(keys.KeyFileError, match="FOUREYES_KEK_COMMAND"):
        keys.load(tmp_path / "keys")
    monkeypatch.setenv(keys.KEK_COMMAND, printing("a5" * 32))  # another KMS key
    with pytest.raises(keys.KeyFileError, match="does not unwrap"):
        keys.load(tmp_path / "keys")


def test_a_wrapped_file_cannot_stand_in_for_another(tmp_path, monkeypatch):
    monkeypatch.setenv(keys.KEK_COMMAND, printing(KEK))
    keys.ensure(tmp_path / "keys")
    index = tmp_path / "keys" / "index.key"
    index.write_text((tmp_path / "keys" / "chain.key").read_text())
    with pytest.raises(keys.KeyFileError, match="index.key does not unwrap"):
        keys.load(tmp_path / "keys")


def test_a_failing_or_wrong_kek_command_is_named(tmp_path, monkeypatch):
    keys.ensure(tmp_path / "keys")
    monkeypatch.setenv(keys.KEK_COMMAND, shlex.join([sys.executable, "-c",
                                                     "import sys; sys.exit('kms: denied')"]))
    with pytest.raises(keys.KeyFileError, match="exit 1: kms: denied"):
        keys.wrap(tmp_path / "keys")
    monkeypatch.setenv(keys.KEK_COMMAND, printing("not a key"))
    with pytest.raises(keys.KeyFileError, match="64 hex digits"):
        keys.wrap(tmp_path / "keys")
    monkeypatch.delenv(keys.KEK_COMMAND)
    assert keys.load(tmp_path / "keys")  # nothing was rewritten


def test_keys_wrap_converts_a_clear_directory_and_old_rows_still_open(tmp_path, monkeypatch,
                                                                      capsys):
    data = tmp_path / "data"
    keys_dir = keys.default_keys_dir(data)
    sealed = AtRest.load(keys_dir).sealer.seal(ID_NO)
    before = keys.load(keys_dir)
    assert main(["keys", "wrap", "--data-dir", str(data)]) == 2  # no KEK command yet
    assert "FOUREYES_KEK_COMMAND" in capsys.readouterr().out

    monkeypatch.setenv(keys.KEK_COMMAND, printing(KEK))
    assert main(["keys", "wrap", "--data-dir", str(data)]) == 0
    assert "3 key file(s) wrapped" in capsys.readouterr().out
    assert all(p.read_text().startswith("wrapped:") for p in key_files(keys_dir))
    assert ID_NO not in "".join(p.read_text() for p in key_files(keys_dir))
    assert keys.load(keys_dir) == before
    assert AtRest.load(keys_dir).sealer.open(sealed) == ID_NO
    assert main(["keys", "wrap", "--data-dir", str(data)]) == 0
    assert "all were wrapped already" in capsys.readouterr().out
    # a rotation after wrapping makes a wrapped key too
    assert main(["keys", "rotate", "--data-dir", str(data)]) == 0
    assert (keys_dir / "data-2.key").read_text().startswith("wrapped:")
    assert AtRest.load(keys_dir).sealer.open(sealed) == ID_NO
