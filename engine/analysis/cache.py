"""The analysis cache under `.wopt/cache/`: work done once is not done again by the next
`wopt show`, `wopt check`, `wopt apply` or the review app.

Two stores, both versioned, written atomically (temp file + rename), safe to delete at any
time, and never trusted blindly (an entry that does not decode, has another version or
another key is ignored and rebuilt):

- **content results** (`content-v1.msgpack`): per file content, keyed by its SHA-256 and the
  checker that reads it: the validation findings of that content and the shape signature
  template-family detection buckets it by. A content is validated once, whichever command or
  plan meets it again.
- **review models** (`models/<key>.msgpack`): the whole review model of one plan, keyed by
  everything the analysis reads: the plan and review (their encoded bytes), the options, the
  analysis code, the saved templates, and the stat fingerprint (mtime in ns, size, inode,
  mode) of every path the plan touches and of the directories above them, as git's index
  does. An entry is stored only when none of those paths changed in the last
  `RACY_SECONDS` (a file rewritten within the same timestamp tick could otherwise keep its
  fingerprint). The transaction never uses this cache: an apply re-reads and re-hashes every
  file under the workspace lock.
"""
from __future__ import annotations

import hashlib
import os
import sys
import time
import typing
from dataclasses import fields
from pathlib import Path

VERSION = 1
RACY_SECONDS = 2.0
MAX_MODELS = 24            # models and their diff texts
MAX_CONTENT_ENTRIES = 200_000


def cache_dir(ws) -> Path:
    return ws.spool / "cache"


def _writable(ws) -> bool:
    """The cache lives in an existing spool only: a read-only command never creates `.wopt/`."""
    return ws.spool.is_dir()


def _write(path: Path, data: bytes) -> None:
    """Through the confined I/O layer like every write under `.wopt/` (a symlinked
    `.wopt/cache` is refused, never followed); not synced: a cache is rebuilt when lost, and
    never half-written (rename)."""
    from ..store import fsio
    t, rel = fsio.spool_tree(path)
    with t:
        parent = rel.rsplit("/", 1)[0] if "/" in rel else ""
        if parent:
            fsio.makedirs(t, parent)
        fsio.atomic_write(t, rel, data, sync=False)


_code_stamp: str | None = None


def code_stamp() -> str:
    """Fingerprint of wopt's engine code (every module below the engine, wherever it moves):
    an upgraded wopt never reads an older model."""
    global _code_stamp
    if _code_stamp is None:
        h = hashlib.sha256(f"v{VERSION}".encode())
        lines = []
        for d, subdirs, names in os.walk(Path(__file__).resolve().parent.parent):
            subdirs[:] = [x for x in subdirs if x != "__pycache__"]
            for n in names:
                if n.endswith(".py"):
                    st = os.stat(os.path.join(d, n))
                    lines.append(f"{os.path.join(d, n)}:{st.st_mtime_ns}:{st.st_size};")
        h.update("".join(sorted(lines)).encode())
        _code_stamp = h.hexdigest()[:16]
    return _code_stamp


# --------------------------------------------------------------------------- content results

class ContentCache:
    """Per-content results of one run, loaded from and saved to `.wopt/cache/`."""

    NAME = f"content-v{VERSION}.msgpack"

    def __init__(self, ws=None):
        self.ws = ws
        self.entries: dict[str, list] = {}
        self.dirty = False
        if ws is not None:
            self.entries = self._load()

    def _path(self) -> Path:
        return cache_dir(self.ws) / self.NAME

    def _load(self) -> dict[str, list]:
        import msgspec
        try:
            raw = self._path().read_bytes()
        except OSError:
            return {}
        try:
            got = msgspec.msgpack.decode(raw, type=dict[str, typing.Union[str, dict[str, list]]])
        except (msgspec.DecodeError, msgspec.ValidationError):
            return {}   # corrupt: ignored, rebuilt and replaced on save
        entries = got.get("entries")
        if got.get("stamp") != code_stamp() or not isinstance(entries, dict):
            return {}   # written by other checkers: their results are not ours
        return entries

    def get(self, key: str):
        return self.entries.get(key)

    def put(self, key: str, value: list) -> None:
        if self.entries.get(key) != value:
            self.entries[key] = value
            self.dirty = True

    def save(self) -> None:
        if not self.dirty or self.ws is None or not _writable(self.ws):
            return
        import msgspec
        if len(self.entries) > MAX_CONTENT_ENTRIES:   # drop the oldest half (dicts keep insertion order)
            items = list(self.entries.items())
            self.entries = dict(items[len(items) // 2:])
        try:
            _write(self._path(), msgspec.msgpack.encode({"stamp": code_stamp(), "entries": self.entries}))
        except OSError:
            return   # a cache that cannot be written is only slower next time
        self.dirty = False


def content_key(kind: str, data: bytes, extra: str = "") -> str:
    return _key(kind, hashlib.sha256(data).hexdigest(), extra)


def _key(kind: str, digest: str, extra: str = "") -> str:
    """The content cache's key of a content by its SHA-256 hex digest (`content_key`)."""
    return f"{kind}:{extra}:{digest}"


def validate_cached(cc: ContentCache, path: str, data: bytes | None, step: str):
    """`validate.validate_content`, once per content: the findings depend on the bytes, the
    checker and (for JSON) whether the file is a JSON-with-comments one."""
    from . import validate as V
    from .model import Finding
    if data is None:
        return []
    checker = V.checker_for(path)
    if checker is None or len(data) > V.MAX_VALIDATE:
        return []
    extra = checker + ("c" if checker == "json" and V._jsonc(path) else "")
    key = content_key("v", data, extra)
    hit = cc.get(key)
    if hit is not None:
        try:
            return [Finding(step, path, c, m, ln, col, sev) for c, m, ln, col, sev in hit]
        except (TypeError, ValueError):
            pass   # malformed entry: validate again and replace it
    found = V.validate_content(path, data, step=step)
    cc.put(key, [[f.checker, f.message, f.line, f.column, f.severity] for f in found])
    return found


def seed_imports(cc: ContentCache, contents, steps) -> None:
    """Python imports of each resulting `.py` content: from the content cache when it has
    them (handed to imports.seed, so the order and the import check parse nothing), else
    parsed now and kept for the next run. A content parsed here is parsed once for both its
    imports and its syntax check: the check's findings are kept under the key
    `validate_cached` reads, so the validation that follows compiles nothing again."""
    from ..model.errors import InternalError
    from . import imports as imp
    try:
        from . import validate as V
    except ImportError as e:   # the checkers cannot load: stop, saying nothing was written
        raise InternalError("validating the plan's Python files", e) from e
    # a syntax tree holds no cycles (freed by reference counting), but its many nodes trigger
    # the cycle collector, which then walks the whole heap (the plan and every content): paused,
    # as an analysis pauses it (an apply parses here outside any analysis)
    from . import collector_paused
    with collector_paused():
        todo: list[tuple[str, str, bytes, str]] = []      # (step, path, content, digest) to parse
        for sid, data in contents.items():
            s = steps.get(sid)
            if data is None or s is None or not str(getattr(s, "path", "")).endswith((".py", ".pyi")):
                continue
            digest = hashlib.sha256(data).hexdigest()
            hit = cc.get(_key("imp", digest))
            if isinstance(hit, list) and len(hit) == 2 and hit[0] in (0, 1):
                try:
                    imp.seed(data, None if hit[0] == 0 else _refs_of(hit[1]))
                    continue
                except (TypeError, ValueError):
                    pass   # malformed entry: parse again and replace it
            if len(data) <= V.MAX_VALIDATE and cc.get(_key("v", digest, "python")) is None:
                todo.append((sid, str(getattr(s, "path", "")), data, digest))
            else:
                cc.put(_key("imp", digest), _refs_entry(imp.py_imports(data)))
        for (_, _, data, digest), (problems, refs) in zip(todo, parse_all(todo)):
            imp.seed(data, refs)
            cc.put(_key("v", digest, "python"), [["python", msg, line, col, "error"] for msg, line, col in problems])
            cc.put(_key("imp", digest), _refs_entry(refs))


def _refs_entry(refs) -> list:
    """Imports (or None: the content does not parse) as kept in the content cache."""
    return [0, []] if refs is None else [1, [[r.module, r.level, r.names, r.line, r.column] for r in refs]]


def _refs_of(rows) -> list:
    """The imports a cache entry's rows hold (`_refs_entry`'s second field)."""
    from .imports import PyImport
    return [PyImport(m, lv, list(ns), ln, col) for m, lv, ns, ln, col in rows]


PARALLEL_MIN_BYTES = 256 << 10   # below this much Python, a second process costs more than it saves


def _parse_one(item: tuple[str, str, bytes, str]):
    """(syntax problems, imports or None) of one `(step, path, content, digest)`."""
    from ..model.errors import InternalError
    from . import imports as imp
    from . import validate as V
    sid, path, data, _ = item
    try:
        tree, problems = V.python_parse(path, data)
        return problems, imp.imports_after_parse(data, tree)
    except Exception as e:   # a checker's bug: fail closed, naming the file
        raise InternalError(f"validating {path} (step {sid})", e) from e


def parse_all(todo: list[tuple[str, str, bytes, str]]) -> list:
    """`_parse_one` of each `(step, path, content, digest)`, in order. With 256 KiB or more
    to parse, two processes share it (the second a fork of this one, given the later half),
    unless `WOPT_JOBS=1`, this process runs other threads (forking those is unsafe), or the
    machine has one core (`WOPT_JOBS=force` always forks, for the tests)."""
    import threading

    size = sum(len(t[2]) for t in todo)
    jobs = os.environ.get("WOPT_JOBS", "")
    if (size < PARALLEL_MIN_BYTES or jobs == "1" or (os.cpu_count() or 1) < 2
            or threading.active_count() > 1 or not hasattr(os, "fork")) and jobs != "force":
        return [_parse_one(t) for t in todo]
    # split by bytes, not count: the later half goes to the child
    half, acc = len(todo), 0
    for k, t in enumerate(todo):
        acc += len(t[2])
        if acc >= size // 2:
            half = k + 1
            break
    if half >= len(todo):
        return [_parse_one(t) for t in todo]
    return _split(todo[:half], todo[half:])


def _split(mine, theirs) -> list:
    import msgspec

    from ..model.errors import InternalError
    r, w = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:   # the child: parse its half, send the answers, and leave at once
        code = 0
        try:
            _end_with(parent)
            os.close(r)
            out = [[[list(x) for x in problems], _refs_entry(refs)]
                   for problems, refs in map(_parse_one, theirs)]
            payload = msgspec.msgpack.encode(["ok", out])
        except BaseException as e:   # reported to the parent, which raises it (fail closed)
            payload = msgspec.msgpack.encode(["error", f"{type(e).__name__}: {e}"])
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(w, view):]
        except BaseException:   # the parent stopped reading: it says what went wrong
            code = 3
        os._exit(code)
    os.close(w)
    chunks: list[bytes] = []
    try:
        # (closed on the way out, even when this half fails: a child blocked writing to the
        # pipe then gets EPIPE and ends, so the wait below cannot hang)
        with os.fdopen(r, "rb") as f:
            ours = [_parse_one(t) for t in mine]
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        _, status = os.waitpid(pid, 0)
    try:
        kind, body = msgspec.msgpack.decode(b"".join(chunks))
    except (msgspec.DecodeError, ValueError, TypeError):
        kind, body = None, None
    if kind == "error":
        raise InternalError("validating the plan's Python files (second process)", RuntimeError(body))
    if kind != "ok" or os.waitstatus_to_exitcode(status) != 0 or len(body) != len(theirs):
        # the second process died (killed, out of memory): its half is parsed here instead
        return ours + [_parse_one(t) for t in theirs]
    return ours + [([tuple(x) for x in problems], None if entry[0] == 0 else _refs_of(entry[1]))
                   for problems, entry in body]


def _end_with(parent: int) -> None:
    """In the forked child: end when the process that forked it ends, so an analysis killed
    (a plan closed in the app, whose analysis process is killed) leaves no half of its parse
    running. On Linux the kernel sends SIGKILL when the parent goes (PR_SET_PDEATHSIG); a
    parent gone before that was set is seen by its pid. Elsewhere, or should the kernel
    refuse, the child ends on its own once its half is parsed (it finds the pipe closed): its
    answers are never used without the parent, so nothing depends on this."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal
        ctypes.CDLL(None).prctl(1, int(signal.SIGKILL), 0, 0, 0)   # PR_SET_PDEATHSIG = 1
    if os.getppid() != parent:
        os._exit(3)


def validate_changes_cached(changes, ws=None, cc: ContentCache | None = None):
    """`validate.validate_changes` with each content's syntax check taken from the content
    cache: the same findings (blocking only what the plan breaks), in the same order."""
    from . import validate as V
    cc = cc if cc is not None else ContentCache(ws)
    return V.validate_changes(changes, ws, check=lambda path, data, step: validate_cached(cc, path, data, step))


# --------------------------------------------------------------------------- review models

def model_key(ws, plan, review, options: str) -> tuple[str, float] | None:
    """(key, newest mtime among the fingerprinted paths) of the model of `plan`, or None when
    the plan cannot be fingerprinted (then nothing is cached)."""
    import msgspec

    from ..model.plan import touched_paths
    from ..store.workspace import stat_fingerprint
    h = hashlib.sha256(f"wopt-model:{VERSION}:{code_stamp()}:{options}\n".encode())
    try:
        h.update(msgspec.msgpack.encode(plan))
        h.update(b"\0")
        # what of a review the analysis reads: edits, kept hunks and lines, the order, rebases
        # (not the decisions); a review that has none of them is no review, so the app and the
        # CLI share the model
        read = [getattr(review, "edited", None), getattr(review, "hunks", None),
                getattr(review, "lines_off", None), getattr(review, "order", None),
                getattr(review, "rebased", None), getattr(review, "edited_raw", None)]
        h.update(msgspec.msgpack.encode(read) if any(read) else b"-")
    except (TypeError, msgspec.EncodeError):
        return None
    got = touched_paths(plan)
    if got is None:
        return None
    paths, dirs = got
    h.update(b"\0")
    newest = stat_fingerprint(h, str(ws.root), paths + dirs + ["", ".wopt/templates"])
    return h.hexdigest(), newest


def _model_path(ws, key: str) -> Path:
    return cache_dir(ws) / "models" / f"{key[:40]}.msgpack"


_HINTS: dict | None = None


def _hints() -> dict:
    global _HINTS
    if _HINTS is None:
        from .model import ReviewModel
        _HINTS = typing.get_type_hints(ReviewModel)
    return _HINTS


_STEP_CODEC: tuple | None = None


def _step_codec() -> tuple:
    """(encoder, decoder) of one StepInfo: typed, so decoding builds it directly."""
    global _STEP_CODEC
    if _STEP_CODEC is None:
        import msgspec

        from .model import StepInfo
        _STEP_CODEC = (msgspec.msgpack.Encoder(), msgspec.msgpack.Decoder(StepInfo))
    return _STEP_CODEC


def encode_model(model, key: str = "") -> bytes:
    """The model as bytes (without its diff function; the agents' calls come from the plan).
    Each step's info is encoded apart, as bytes of its own: reading the model back decodes
    a step only when it is asked for (see `model.LazySteps`)."""
    import msgspec
    enc, _ = _step_codec()
    data = {f.name: getattr(model, f.name) for f in fields(model) if not f.name.startswith("_")}
    data["steps"] = {sid: enc.encode(_info_no_origin(info)) for sid, info in data["steps"].items()}
    return msgspec.msgpack.encode({"v": VERSION, "key": key, "model": data})


_MODEL_DECODER = None


def _model_decoder():
    """A typed decoder of what `encode_model` writes: the envelope and the model's fields
    are built in one pass (the steps stay bytes); the field types come from `ReviewModel`
    itself, so a field added there is read back too."""
    global _MODEL_DECODER
    if _MODEL_DECODER is None:
        import msgspec
        fields_ = {k: v for k, v in _hints().items() if not k.startswith("_")}
        fields_["steps"] = dict[str, bytes]
        fields_["families"] = msgspec.Raw      # decoded apart: two short calls, not one long one
        body = msgspec.defstruct("EncodedModel", list(fields_.items()))
        env = msgspec.defstruct("EncodedEnvelope", [("v", int), ("key", str), ("model", body)])
        _MODEL_DECODER = (msgspec.msgpack.Decoder(env), msgspec.msgpack.Decoder(_hints()["families"]))
    return _MODEL_DECODER


def decode_model(raw: bytes, plan, key: str = ""):
    """The model `encode_model` made, or None when `raw` is not one (corrupt, another version
    or another key): never trusted blindly. Its steps decode lazily, each when first read."""
    import msgspec

    from .model import LazySteps, ReviewModel
    try:
        envelope, families = _model_decoder()
        got = envelope.decode(raw)
        if got.v != VERSION or got.key != key:
            return None
        data = msgspec.structs.asdict(got.model)
        data["families"] = families.decode(data["families"])
        steps = data.pop("steps")
        _, dec = _step_codec()
        origin = {s.id: list(s.origin) for s in plan.steps if s.origin}
        model = ReviewModel(steps=LazySteps(steps, dec.decode, origin), **data)
    except (msgspec.DecodeError, msgspec.ValidationError, KeyError, TypeError, ValueError):
        return None   # corrupt or from another layout: ignored and rebuilt
    return model


def load_model(ws, key: str, plan):
    """The cached model under `key`, or None (absent, corrupt, another version or key)."""
    try:
        raw = _model_path(ws, key).read_bytes()
    except OSError:
        return None
    return decode_model(raw, plan, key)


def store_model(ws, key: str, newest: float, model) -> None:
    """Keep `model` under `key`, unless a fingerprinted path changed too recently to trust its
    timestamp, or the workspace has no spool."""
    import msgspec
    if not _writable(ws) or time.time() - newest < RACY_SECONDS:
        return
    try:
        raw = encode_model(model, key)
    except (TypeError, msgspec.EncodeError):
        return
    path = _model_path(ws, key)
    try:
        _write(path, raw)
    except OSError:
        return
    _prune(path.parent)


def _diffs_path(ws, key: str) -> Path:
    return cache_dir(ws) / "models" / f"{key[:40]}.diffs.msgpack"


def load_unified(ref) -> dict[str, str]:
    """The unified diff texts kept for the model `ref` = (ws, key, newest) names ({} if none)."""
    import msgspec
    if ref is None:
        return {}
    ws, key, _ = ref
    try:
        raw = _diffs_path(ws, key).read_bytes()
    except OSError:
        return {}
    try:
        got = msgspec.msgpack.decode(raw)
    except msgspec.DecodeError:
        return {}
    if not isinstance(got, dict) or got.get("v") != VERSION or got.get("key") != key:
        return {}
    diffs = got.get("diffs")
    if not isinstance(diffs, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in diffs.items()):
        return {}
    return diffs


def store_unified(ref, diffs: dict[str, str]) -> None:
    import msgspec
    if ref is None:
        return
    ws, key, newest = ref
    if not _writable(ws) or time.time() - newest < RACY_SECONDS:
        return
    path = _diffs_path(ws, key)
    try:
        _write(path, msgspec.msgpack.encode({"v": VERSION, "key": key, "diffs": diffs}))
    except OSError:
        return
    _prune(path.parent)


def _info_no_origin(info):
    from dataclasses import replace
    return replace(info, origin=[])


def _prune(d: Path) -> None:
    try:
        entries = sorted(d.glob("*.msgpack"), key=lambda p: p.stat().st_mtime_ns)
    except OSError:
        return
    for p in entries[:-MAX_MODELS]:
        try:
            p.unlink()
        except OSError:
            pass
