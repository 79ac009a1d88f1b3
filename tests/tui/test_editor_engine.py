"""engine/model/editing.py: the $EDITOR round trip with real editors (small scripts)."""
from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from wopt.engine.model.editing import edit_text, editor_command
from wopt.engine.model.errors import UsageError


def make_editor(tmp_path: Path, body: str, name: str = "fake-editor") -> str:
    """An executable editor script; it gets the file to edit as its last argument."""
    script = tmp_path / name
    script.write_text(f"#!{sys.executable}\nimport sys, pathlib\np = pathlib.Path(sys.argv[-1])\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def env_with(editor: str, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("VISUAL", "EDITOR")}
    env["EDITOR"] = editor
    env.update(extra)
    return env


def test_editor_rewrites_file_and_new_text_comes_back(tmp_path):
    ed = make_editor(tmp_path, "p.write_bytes(p.read_bytes().replace(b'world', b'there'))")
    out = edit_text("src/app/hello.py", "print('hello world')\r\nx = 1\n", env=env_with(ed))
    assert out == "print('hello there')\r\nx = 1\n"   # line endings kept byte for byte


def test_temp_file_is_named_like_the_target_and_removed_after(tmp_path):
    log = tmp_path / "seen.txt"
    ed = make_editor(tmp_path, f"open({str(log)!r}, 'w').write(str(p))\np.write_text('new')")
    assert edit_text("pkg/conf/settings.toml", "old", env=env_with(ed)) == "new"
    seen = Path(log.read_text())
    assert seen.name == "settings.toml"
    assert not seen.exists() and not seen.parent.exists()


def test_unchanged_or_failed_editor_gives_none(tmp_path):
    same = make_editor(tmp_path, "pass", "same")
    assert edit_text("a.txt", "abc\n", env=env_with(same)) is None
    fail = make_editor(tmp_path, "p.write_text('half done'); sys.exit(1)", "fail")
    assert edit_text("a.txt", "abc\n", env=env_with(fail)) is None


def test_editor_with_arguments_and_visual_wins(tmp_path):
    ed = make_editor(tmp_path, "p.write_text(sys.argv[1])")
    env = env_with("/bin/false")
    env["VISUAL"] = f"{ed} --flag"
    assert edit_text("a.txt", "x", env=env) == "--flag"


def test_non_utf8_bytes_survive(tmp_path):
    ed = make_editor(tmp_path, "p.write_bytes(p.read_bytes() + b'!')")
    text = b"caf\xe9\n".decode("utf-8", "surrogateescape")
    out = edit_text("latin.txt", text, env=env_with(ed))
    assert out.encode("utf-8", "surrogateescape") == b"caf\xe9\n!"


def test_missing_editor_is_a_clear_error(tmp_path):
    with pytest.raises(UsageError) as e:
        edit_text("a.txt", "x", env=env_with(str(tmp_path / "no-such-editor")))
    assert "no-such-editor" in str(e.value) and "EDITOR" in str(e.value)
    with pytest.raises(UsageError) as e:
        editor_command({"PATH": str(tmp_path)})
    assert "EDITOR" in str(e.value)
