"""The hooks' shell: whatever happens, the agent gets an answer that blocks the write. When the
answer cannot be written to stdout, an empty stdout with exit 0 would let the write through
(Codex: "allow"; Claude Code: its own permission flow), so the hook says why on stderr and
exits 2, which every agent reads as a block."""
from __future__ import annotations

import io
import json

import pytest

from wopt.engine.agents import hook
from wopt.engine.agents import codex_hook, gemini_hook


class BrokenOut(io.StringIO):
    def write(self, s):
        raise BrokenPipeError(32, "Broken pipe")


def _mains():
    return [("claude", hook.main), ("codex", codex_hook.main), ("gemini", gemini_hook.main)]


@pytest.mark.parametrize("agent,main", _mains(), ids=[a for a, _ in _mains()])
def test_an_answer_that_cannot_be_written_blocks_with_exit_2(agent, main, capfd):
    rc = main(stdin=io.BytesIO(b"not json"), stdout=BrokenOut())
    assert rc == 2
    err = capfd.readouterr().err
    assert "could not answer" in err and "not made" in err


@pytest.mark.parametrize("agent,main", _mains(), ids=[a for a, _ in _mains()])
def test_an_unreadable_input_is_denied(agent, main):
    class BrokenIn(io.BytesIO):
        def read(self, *a):
            raise OSError(5, "Input/output error")
    out = io.StringIO()
    assert main(stdin=BrokenIn(), stdout=out) == 0
    answer = json.loads(out.getvalue())
    text = json.dumps(answer)
    assert "deny" in text and "could not read the hook input" in text
