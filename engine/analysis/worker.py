"""The analysis process: `python -m wopt.engine.analysis.worker` reads [workspace root, plan
JSON, review JSON or nil] as msgpack on stdin, analyses, and writes [true, encoded model] or
[false, error message] as msgpack on stdout. The review app runs it for large plans so its own
interpreter (and GIL) stays free for keys."""
from __future__ import annotations

import sys


def main() -> int:
    import msgspec

    from ..errors import WoptError
    from ..plan import decode_plan
    from ..review import Review
    from ..workspace import Workspace
    from . import analyze
    from . import cache as C
    root, plan_raw, review_raw = msgspec.msgpack.decode(sys.stdin.buffer.read())
    try:
        ws = Workspace(root)
        plan = decode_plan(plan_raw)
        review = msgspec.json.decode(review_raw, type=Review) if review_raw is not None else None
        out = [True, C.encode_model(analyze(ws, plan, review))]
    except WoptError as e:
        out = [False, str(e)]
    sys.stdout.buffer.write(msgspec.msgpack.encode(out))
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
