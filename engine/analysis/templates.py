"""Template families: files of one plan (new, or rewritten whole) that are identical but for
slots (names, strings, numbers), shown once as a Jinja2 template plus a table of values.

Detection is near-linear: each candidate is tokenized once with pygments (or, when it has the
shape of a file tokenized before, read by that shape: see `_Seed`) and bucketed by its
*shape signature* (token kinds, with names, literals and words abstracted to their kind and
everything else kept verbatim). Files with one signature differ only in slot tokens, so a
bucket of three or more is a family: the positions whose values vary become variables (a
position whose values equal another's across all members shares its variable), constant text
is escaped, and rendering the template with a member's values gives the member back byte for
byte (checked for every member; a member that does not round-trip is dropped).

Near-misses (outliers) are found through an inverted index of abstracted line shapes: only
files sharing distinctive lines with a family are compared (difflib on line shapes), never all
pairs. Plans may also declare families with `render` steps; the families an apply approved
whole are saved to `.wopt/templates/` (by `engine/store/templates_store.py`: this module only reads
them, through its `load_saved`) and later plans say "matches saved template X (used N times)".
"""
from __future__ import annotations

import difflib
import json
import keyword
import operator
import posixpath
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from ..store.templates_store import SavedTemplate, load_saved
from .model import Family, FamilyMember, Outlier

MIN_MEMBERS = 3
MAX_FILE = 256 * 1024          # larger files are not candidates
MAX_SLOT_SHARE = 0.4           # at most this share of significant tokens may vary
MAX_VARS = 40
OUTLIER_RATIO = 0.75

_JINJA_WORDS = {"true", "false", "none", "and", "or", "not", "in", "is", "if", "else", "for",
                "loop", "True", "False", "None", "self", "range", "lipsum", "dict", "cycler",
                "joiner", "namespace", "super", "varargs", "kwargs", "caller"}


# --------------------------------------------------------------------------- tokens

_lexers: dict[str, object] = {}


def _lexer(path: str):
    ext = posixpath.splitext(path)[1].lower() or posixpath.basename(path)
    lx = _lexers.get(ext)
    if lx is None:
        from pygments.lexers import TextLexer, get_lexer_for_filename
        from pygments.util import ClassNotFound
        opts: dict[str, Any] = dict(stripnl=False, stripall=False, ensurenl=False, tabsize=0)
        try:
            lx = get_lexer_for_filename(path, **opts)
        except ClassNotFound:
            lx = TextLexer(**opts)
        _lexers[ext] = lx
    return lx


_WORDISH = re.compile(r"\S+")


def _slot_kind(ttype) -> str | None:
    """The slot category of a pygments token type, or None for structure (kept verbatim)."""
    from pygments import token as T
    if ttype in T.Name:
        if ttype in T.Name.Class:
            return "class_name"
        if ttype in T.Name.Function:
            return "func_name"
        if ttype in T.Name.Namespace:
            return "module"
        if ttype in T.Name.Tag:
            return "tag"
        if ttype in T.Name.Attribute:
            return "attr"
        return "name"
    if ttype in T.Literal.String:
        if ttype in T.Literal.String.Delimiter or ttype in T.Literal.String.Escape:
            return None
        return "string"
    if ttype in T.Literal.Number:
        return "number"
    if ttype in T.Literal:
        return "value"
    if ttype in T.Comment:
        if ttype in T.Comment.Preproc or ttype in T.Comment.Hashbang:
            return None
        return "comment"
    if ttype in T.Generic or ttype in T.Text:
        return "text"
    return None


_kind_cache: dict = {}


def tokens(path: str, text: str) -> list[tuple[str | None, str]]:
    """(slot kind or None, text) tokens; runs of the same slot kind merged, whitespace and
    punctuation kept as structure. The texts concatenate to `text` exactly (else [])."""
    out: list[tuple[str | None, str]] = []
    for ttype, val in _lexer(path).get_tokens(text):
        if not val:
            continue
        kind = _kind_cache.get(ttype, 0)
        if kind == 0:
            kind = _kind_cache[ttype] = _slot_kind(ttype)
        if kind == "text":
            # prose: words are slots, whitespace is structure
            for piece in re.split(r"(\s+)", val):
                if not piece:
                    continue
                _push(out, None if piece.isspace() else "text", piece)
            continue
        if kind is not None and kind != "string" and val.isspace():
            kind = None   # (whitespace inside a string literal stays part of its value)
        if kind == "string" and val in _QUOTES:
            kind = None
        elif kind == "string":
            m = _QUOTED.fullmatch(val)
            if m:
                pre, body, post = m.group(1), m.group(3), m.group(4)
                _push(out, None, pre)
                if body:
                    _push(out, "string", body)
                _push(out, None, post)
                continue
        _push(out, kind, val)
    if "".join(v for _, v in out) != text:
        return []
    return out


_QUOTES = {'"', "'", '"""', "'''", "`", 'b"', "b'", 'f"', "f'", 'r"', "r'"}
_QUOTED = re.compile(r'([rRbBuUfF]{0,2}("{3}|\'{3}|"|\'|`))(.*)(\2)', re.S)


def _push(out: list, kind: str | None, val: str) -> None:
    if kind is not None and out and out[-1][0] == kind:
        out[-1] = (kind, out[-1][1] + val)
    elif kind is None and out and out[-1][0] is None:
        out[-1] = (None, out[-1][1] + val)
    else:
        out.append((kind, val))


# --------------------------------------------------------------------------- templates

def _escape(const: str) -> str:
    """Constant text as Jinja2 source that renders to itself."""
    if "{" not in const:
        return const
    if "endraw" not in const and "{% raw" not in const:
        return "{% raw %}" + const + "{% endraw %}"
    return const.replace("{", "{{ '{' }}")


def template_env():
    """The environment templates render in: sandboxed, strict, newlines kept (as effects)."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment
    return SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)


def render(template: str, values: Mapping[str, str]) -> str:
    return template_env().from_string(template).render(**values)


@dataclass
class _Cand:
    step: str
    path: str
    text: str
    toks: list[tuple[str | None, str]]
    lexer: str
    sig: tuple | None = None      # _signature, when known (a seed's reading shares its seed's)


def _signature(c: _Cand) -> tuple:
    if c.sig is None:
        c.sig = (c.lexer,) + tuple(k if k is not None else v for k, v in c.toks)
    return c.sig


_KEY = re.compile(r"([A-Za-z_][\w-]*)[\"']?\s*[:=]\s*[\"'`]?$")


def _key_before(toks, i: int) -> str | None:
    """The key a slot value is assigned to (`port = 8001`, `"port": 8001`, `port: 8001`), as a
    variable name, or None."""
    before = "".join(v for _, v in toks[max(0, i - 4):i])[-60:]
    m = _KEY.search(before)
    if not m:
        return None
    name = re.sub(r"\W", "_", m.group(1)).lower()
    return name if name.isidentifier() else None


def build_template(members: list[_Cand]) -> tuple[str, list[str], list[dict[str, str]], int] | None:
    """(template, slots, per-member values, varying positions) for members of one signature."""
    toks0 = members[0].toks
    n = len(toks0)
    # the members' token texts by position (one column per token): a position varies when
    # its column holds more than one value
    cols = list(zip(*[[v for _, v in m.toks] for m in members]))
    vary = [i for i in range(n) if toks0[i][0] is not None and cols[i].count(cols[i][0]) != len(cols[i])]
    vectors: dict[tuple, str] = {}
    var_at: dict[int, str] = {}
    used: dict[str, int] = {}
    for i in vary:
        vec = cols[i]
        name = vectors.get(vec)
        if name is None:
            base = _key_before(toks0, i) or toks0[i][0] or "slot"
            used[base] = used.get(base, 0) + 1
            name = base if used[base] == 1 else f"{base}_{used[base]}"
            if name in _JINJA_WORDS:
                name = name + "_"
            vectors[vec] = name
        var_at[i] = name
    parts: list[str] = []
    const: list[str] = []
    for i, (_, v) in enumerate(toks0):
        if i in var_at:
            if const:
                parts.append(_escape("".join(const)))
                const = []
            parts.append("{{ " + var_at[i] + " }}")
        else:
            const.append(v)
    if const:
        parts.append(_escape("".join(const)))
    slots = list(dict.fromkeys(var_at.values()))
    values: list[dict[str, str]] = [{} for _ in members]
    for i, name in var_at.items():
        for vals, v in zip(values, cols[i]):
            vals[name] = v
    return "".join(parts), slots, values, len(vary)


# --------------------------------------------------------------------------- line shapes (outliers)

_KEEP = set("""def class return import from if else elif for while try except finally with as
pass raise yield lambda async await function const let var export default interface type
extends implements new this public private protected static struct enum fn pub impl use mod
true false null None True False""".split())
_SHAPE_STR = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'')
_SHAPE_NUM = re.compile(r"\b\d[\w.]*")
_SHAPE_WORD = re.compile(r"[A-Za-z_]\w*")


def line_shape(line: str) -> str:
    s = _SHAPE_STR.sub('"', line.strip())
    s = _SHAPE_NUM.sub("0", s)
    return _SHAPE_WORD.sub(lambda m: m.group() if m.group() in _KEEP else "w", s)


def _describe(member: str, cand: str, limit: int = 3) -> str:
    a, b = member.split("\n"), cand.split("\n")
    sa, sb = [line_shape(x) for x in a], [line_shape(x) for x in b]
    out = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, sa, sb, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if tag == "insert":
            out.append(f"extra line {j1 + 1}: {_q(b[j1])}" + (f" (+{j2 - j1 - 1} more)" if j2 - j1 > 1 else ""))
        elif tag == "delete":
            out.append(f"missing line {i1 + 1} of the template: {_q(a[i1])}"
                       + (f" (+{i2 - i1 - 1} more)" if i2 - i1 > 1 else ""))
        else:
            out.append(f"line {j1 + 1}: {_q(b[j1])} where the family has {_q(a[i1])}")
        if len(out) >= limit:
            break
    return "; ".join(out) or "differs in structure"


def _q(s: str, n: int = 60) -> str:
    s = s.strip()
    return "`" + (s if len(s) <= n else s[: n - 1] + "…") + "`"


# --------------------------------------------------------------------------- detection

def _prefilter(items: Iterable[tuple[str, str, bytes | None]]) -> list[tuple[str, str, bytes, str]]:
    """(step, path, content, text) of the writes that can be family members at all."""
    out = []
    for sid, path, data in items:
        if data is None or len(data) > MAX_FILE or b"\r" in data or b"\x00" in data:
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if not text.strip():
            continue
        out.append((sid, path, data, text))
    return out


def candidates(items: Iterable[tuple[str, str, bytes | None]]) -> list[_Cand]:
    """(step, path, content) of whole-file writes -> tokenized candidates."""
    out = []
    for sid, path, data, text in _prefilter(items):
        toks = tokens(path, text)
        if sum(1 for k, v in toks if not v.isspace()) < 3:
            continue
        out.append(_Cand(sid, path, text, toks, type(_lexer(path)).__name__))
    return out


# --------------------------------------------------------------------------- seeds (fast path)

MAX_SEEDS = 8                  # shapes per cheap bucket read by pattern instead of tokenized
_FAST_LEXERS = {"PythonLexer"}
_ASCII_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
# each slot kind the fast path reads, as the pattern both the seed's value and another
# file's value must match; strict: anything the tokenizer could read as more than one token
# (an escape, an interpolation, a non-ASCII name) is left out, so such a file is tokenized
# instead. Kinds not listed stay literal (the file must repeat the seed's value).
_SLOT = {
    "name": _ASCII_NAME, "class_name": _ASCII_NAME, "func_name": _ASCII_NAME,
    # a module's name as pygments reads it after from/import: dots and names, relative too
    "module": r"(?:\.|" + _ASCII_NAME + ")+",
    # pygments' PythonLexer rules for numbers, in its order
    "number": r"(?:(?:\d(?:_?\d)*\.(?:\d(?:_?\d)*)?|(?:\d(?:_?\d)*)?\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?"
              r"|\d(?:_?\d)*[eE][+-]?\d(?:_?\d)*j?|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+"
              r"|0[xX](?:_?[a-fA-F0-9])+|\d(?:_?\d)*)",
    "comment": r"#(?!!)[^\n]*",
}
_NAMES = {"name", "class_name", "func_name", "module"}


_RESERVED = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | {"type", "_"}


_SLOT_RE = {k: re.compile(v) for k, v in _SLOT.items()}
# what a string's body read by the fast path never holds: a quote of any kind (the tokenizer
# gives a lone quote as structure), an escape, an interpolation, or (if the seed's did not) a
# line break
_STRING_BAD = re.compile(r"[\\\n{}%'\"`]")
_STRING_BAD_MANY = re.compile(r"[\\{}%'\"`]")


# how a seed reads one slot: ("token", its pattern, is a name) or ("string", what its body
# never holds, False); None for a token kept constant
_Read = tuple[str, "re.Pattern[str]", bool] | None


@dataclass
class _Seed:
    """A tokenized file's shape: its tokens, each slot read again from another file by the
    characters its kind allows, the constant text compared verbatim."""
    toks: list[tuple[str | None, str]]
    read: list["_Read"]        # per token: None (constant), or how the slot is read
    digest: str
    significant: int
    sig: tuple                 # the shape signature every file it reads shares
    pattern: "re.Pattern | None" = None    # the same reading as one expression, once it pays
    slots: tuple[int, ...] = ()            # positions of the pattern's groups in toks
    names: tuple[int, ...] = ()            # which groups (0-based) hold names
    ok: set[str] = field(default_factory=set)     # names seen not to be reserved

    @classmethod
    def build(cls, c: _Cand, digest: str, significant: int) -> "_Seed | None":
        toks = c.toks
        read: list[_Read] = []
        for k, (kind, val) in enumerate(toks):
            nxt = toks[k + 1] if k + 1 < len(toks) else None
            how: _Read = None
            if kind == "string" and nxt is not None and nxt[0] is None:
                # a string's body: the shortest text the next constant follows
                bad = _STRING_BAD_MANY if "\n" in val else _STRING_BAD
                if not bad.search(val):
                    how = ("string", bad, False)
            elif kind in _SLOT_RE and _SLOT_RE[kind].fullmatch(val) \
                    and not (kind in _NAMES and _reserved_name(val)):
                how = ("token", _SLOT_RE[kind], kind in _NAMES)
            if how is not None and nxt is not None and nxt[0] is not None:
                return None                      # two slots side by side: tokenize instead
            read.append(how)                     # (a value not read stays constant)
        seed = cls(list(toks), read, digest, significant, _signature(c))
        if seed._scan(c.text) != toks:           # it must read itself back, token for token
            return None
        return seed

    def match(self, text: str) -> list[tuple[str | None, str]] | None:
        """`text`'s tokens if it has this shape, else None (one pass, no backtracking).

        The first file the seed reads is read token by token (`_scan`); from then on the
        shape has proved common and is read by one compiled expression that takes each slot
        exactly as `_scan` does: an atomic group for a token (its pattern's own first
        match, no second thoughts), the shortest good body that the next constant follows
        for a string."""
        if self.pattern is None:
            out = self._scan(text)
            if out is not None:
                self._compile()
            return out
        m = self.pattern.fullmatch(text)
        if m is None:
            return None
        values = m.groups()
        if self.names:
            fresh = set(operator.itemgetter(*self.names)(values)) if len(self.names) > 1 \
                else {values[self.names[0]]}
            fresh -= self.ok
            if any(_reserved_name(v) for v in fresh):
                return None
            self.ok |= fresh
        out = list(self.toks)
        for k, v in zip(self.slots, values):
            out[k] = (out[k][0], v)
        return out

    def _compile(self) -> None:
        parts: list[str] = []
        slots: list[int] = []
        names: list[int] = []
        toks, read = self.toks, self.read
        k = 0
        while k < len(toks):
            how = read[k]
            if how is None:
                parts.append(re.escape(toks[k][1]))
                k += 1
                continue
            if how[0] == "token" and how[2]:
                names.append(len(slots))
            slots.append(k)
            if how[0] == "string":
                good = "[^" + how[1].pattern[1:]
                parts.append("(?>(" + good + "+?)" + re.escape(toks[k + 1][1]) + ")")
                k += 2
            else:
                parts.append("(?>(" + how[1].pattern + "))")
                k += 1
        try:
            self.pattern = re.compile("".join(parts))
        except (re.error, RecursionError, OverflowError):
            return      # too large for one expression: keep reading token by token
        self.slots, self.names = tuple(slots), tuple(names)

    def _scan(self, text: str) -> list[tuple[str | None, str]] | None:
        toks, read = self.toks, self.read
        out = list(toks)
        pos = 0
        n = len(toks)
        for k in range(n):
            how = read[k]
            if how is None:
                val = toks[k][1]
                if not text.startswith(val, pos):
                    return None
                pos += len(val)
                continue
            if how[0] == "string":
                end = text.find(toks[k + 1][1], pos + 1)
                if end < 0 or how[1].search(text, pos, end):
                    return None
            else:
                m = how[1].match(text, pos)
                if m is None:
                    return None
                end = m.end()
                if how[2] and _reserved_name(m.group()):
                    return None
            out[k] = (toks[k][0], text[pos:end])
            pos = end
        return out if pos == len(text) else None


def _reserved_name(value: str) -> bool:
    """A name the tokenizer reads as something else: a keyword or a dunder (magic) name."""
    for part in value.split("."):
        if part in _RESERVED or (part.startswith("__") and part.endswith("__")):
            return True
    return False


def _sig_digest(c: _Cand) -> str:
    import hashlib
    h = hashlib.sha1(c.lexer.encode())
    for k, v in c.toks:
        h.update(b"\x00" + (k.encode() + b"\x01" if k is not None else v.encode("utf-8", "surrogatepass")))
    return h.hexdigest()


def detect(items: Iterable[tuple[str, str, bytes | None]], *, min_members: int = MIN_MEMBERS,
           start: int = 1, cache=None, fast: bool = True) -> list[Family]:
    """Families among whole-file writes `(step, path, content)`, with their outliers.

    Cheap first: files are bucketed by (lexer, line count) and only files sharing that with
    `min_members - 1` others are tokenized (a family's members share their line structure);
    the shape signature of a content comes from the content cache (`cache`, see cache.py)
    when it was seen before, so only members of a possible family are tokenized again.

    Within a bucket, a tokenized file becomes a *seed* (`_Seed`): its constant text
    verbatim and each slot a run of the characters its kind allows, so a file of the same
    shape is read by that shape (one compiled expression once it has read a second file)
    instead of being tokenized.
    The pattern is strict (a file it does not take is simply tokenized), and whatever it
    takes renders back byte for byte like every member. `fast=False` tokenizes every file
    (the reference the tests compare with)."""
    pre = _prefilter(items)
    lexname: dict[str, str] = {}
    cheap: dict[tuple, list[int]] = defaultdict(list)
    for i, (sid, path, data, text) in enumerate(pre):
        lx = lexname.get(path)
        if lx is None:
            lx = lexname[path] = type(_lexer(path)).__name__
        cheap[(lx, data.count(b"\n"))].append(i)
    # the shape signature of every file of a cheap bucket that can hold a family
    sig_of: dict[int, str] = {}
    toks_of: dict[int, _Cand] = {}
    small: set[int] = set()
    for (lx, _), idx in cheap.items():
        if len(idx) < min_members:
            continue
        seeds: list[_Seed] = []
        tried = hits = 0
        for at, i in enumerate(idx):
            sid, path, data, text = pre[i]
            key = None
            if cache is not None:
                from .cache import content_key
                key = content_key("sig", data, lx)
                hit = cache.get(key)
                if isinstance(hit, list) and len(hit) == 2 and isinstance(hit[0], str) and isinstance(hit[1], int):
                    if hit[1] < 3:
                        small.add(i)
                    else:
                        sig_of[i] = hit[0]
                    continue
            # a file with the shape of one seen in this bucket is read by that shape's
            # pattern instead of being tokenized (the pattern's match gives its tokens)
            c = None
            for seed in seeds:
                toks = seed.match(text)
                if toks is not None:
                    hits += 1
                    c = _Cand(sid, path, text, toks, lx, seed.sig)
                    sig_of[i] = seed.digest
                    toks_of[i] = c
                    if key is not None:
                        cache.put(key, [seed.digest, seed.significant])
                    break
            if c is not None:
                continue
            c = _Cand(sid, path, text, tokens(path, text), lx)
            significant = sum(1 for k, v in c.toks if not v.isspace())
            if significant < 3:
                small.add(i)
                if key is not None:
                    cache.put(key, ["", significant])
                continue
            toks_of[i] = c
            sig_of[i] = _sig_digest(c)
            if key is not None:
                cache.put(key, [sig_of[i], significant])
            if tried >= MAX_SEEDS and not hits:
                seeds = []       # no file of this bucket had a seen shape: stop looking
            elif (tried < MAX_SEEDS and len(idx) - at > min_members - 1
                    and fast and lx in _FAST_LEXERS):
                tried += 1
                built = _Seed.build(c, sig_of[i], significant)
                if built is not None:
                    seeds.append(built)
    buckets: dict[str, list[int]] = defaultdict(list)
    for i in sorted(sig_of):
        buckets[sig_of[i]].append(i)
    families: list[tuple[Family, _Cand]] = []
    in_family: set[str] = set()
    for idx in buckets.values():
        if len(idx) < min_members:
            continue
        members = []
        for i in idx:
            known = toks_of.get(i)
            if known is None:
                sid, path, data, text = pre[i]
                known = _Cand(sid, path, text, tokens(path, text), lexname[path])
            members.append(known)
        # the full signatures decide (a cached digest is never trusted blindly)
        exact: dict[tuple, list[_Cand]] = defaultdict(list)
        for m in members:
            exact[_signature(m)].append(m)
        for group in exact.values():
            if len(group) < min_members:
                continue
            fam = _family(group, min_members)
            if fam is None:
                continue
            families.append((fam, group[0]))
            in_family.update(x.step for x in fam.members)
    # stable ids: by the first member's position among the candidates
    pos = {p[0]: i for i, p in enumerate(pre)}
    families.sort(key=lambda f: pos[f[0].members[0].step])
    for k, (fam, _) in enumerate(families):
        fam.id = f"family-{start + k}"
    rest = [_Cand(sid, path, text, [], lexname.get(path) or type(_lexer(path)).__name__)
            for i, (sid, path, data, text) in enumerate(pre) if sid not in in_family and i not in small]
    _find_outliers(families, rest)
    return [f for f, _ in families]


def _family(members: list[_Cand], min_members: int) -> Family | None:
    built = build_template(members)
    if built is None:
        return None
    template, slots, values, nvary = built
    significant = sum(1 for k, v in members[0].toks if not v.isspace())
    if nvary > MAX_SLOT_SHARE * significant or len(slots) > MAX_VARS:
        return None
    env = template_env()
    # wopt built this template to parse and render: a Jinja2 error here is wopt's bug,
    # reported (fail closed), never skipped; a rendering that differs is simply no match
    from jinja2 import TemplateError

    from ..model.errors import InternalError
    try:
        tpl = env.from_string(template)
    except TemplateError as e:
        raise InternalError(f"detecting a template family of {members[0].path}", e) from e
    fm = []
    for m, vals in zip(members, values):
        try:
            ok = tpl.render(**vals) == m.text
        except TemplateError as e:
            raise InternalError(f"checking {m.path} against its template family", e) from e
        if ok:
            fm.append(FamilyMember(m.step, m.path, vals))
    if len(fm) < min_members:
        return None
    return Family(id="", template=template, slots=slots, members=fm)


def _find_outliers(families: list[tuple[Family, _Cand]], rest: list[_Cand]) -> None:
    if not families or not rest:
        return
    shapes = {c.step: [line_shape(x) for x in c.text.split("\n")] for c in rest}
    index: dict[tuple[str, str], list[_Cand]] = defaultdict(list)
    for c in rest:
        for sh in set(shapes[c.step]):
            index[(c.lexer, sh)].append(c)
    taken: set[str] = set()
    for fam, first in families:
        fshapes = [line_shape(x) for x in first.text.split("\n")]
        distinct = set(fshapes)
        cap = 4 * len(fam.members) + 50
        hits: dict[str, int] = defaultdict(int)
        byid: dict[str, _Cand] = {}
        for sh in distinct:
            posting = index.get((first.lexer, sh), ())
            if len(posting) > cap:
                continue
            for c in posting:
                hits[c.step] += 1
                byid[c.step] = c
        need = max(1, int(0.5 * len(distinct)))
        for sid, h in hits.items():
            if h < need or sid in taken:
                continue
            c = byid[sid]
            ratio = difflib.SequenceMatcher(None, fshapes, shapes[sid], autojunk=False).ratio()
            if ratio >= OUTLIER_RATIO:
                fam.outliers.append(Outlier(sid, c.path, _describe(first.text, c.text)))
                taken.add(sid)
        fam.outliers.sort(key=lambda o: o.path)


def declared(plan) -> list[Family]:
    """Families the plan declares: render steps grouped by their template."""
    from ..model.plan import RenderStep
    groups: dict[str, list] = {}
    for s in plan.steps:
        if isinstance(s, RenderStep):
            groups.setdefault(s.template, []).append(s)
    out = []
    for name, steps in groups.items():
        slots = list(dict.fromkeys(k for s in steps for k in s.vars))
        members = [FamilyMember(s.id, s.path, {k: _str(v) for k, v in s.vars.items()}) for s in steps]
        out.append(Family(id=f"declared:{name}", template=plan.templates[name], slots=slots,
                          members=members, declared=True))
    return out


def _str(v) -> str:
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)


def template_errors(plan) -> list[tuple[str, int | None, str]]:
    """(template name, line, message) for each plan template that does not parse."""
    if not plan.templates:
        return []   # nothing to parse: jinja2 is not loaded
    from jinja2 import TemplateSyntaxError
    env = template_env()
    out: list[tuple[str, int | None, str]] = []
    for name, src in plan.templates.items():
        try:
            env.parse(src)
        except TemplateSyntaxError as e:
            out.append((name, e.lineno, e.message or str(e)))
    return out


# --------------------------------------------------------------------------- saved templates

def _pattern(template: str) -> re.Pattern | None:
    """A regex matching exactly the renderings of a template made only of text and variables."""
    from jinja2 import TemplateError, nodes
    try:
        tree = template_env().parse(template)
    except TemplateError:     # a saved template a person edited into bad Jinja2: not a pattern
        return None
    parts: list[str] = []
    seen: set[str] = set()
    for node in tree.body:
        if not isinstance(node, nodes.Output):
            return None
        for n in node.nodes:
            if isinstance(n, nodes.TemplateData):
                parts.append(re.escape(n.data))
            elif isinstance(n, nodes.Name):
                if n.name in seen:
                    parts.append(f"(?P={n.name})")
                else:
                    seen.add(n.name)
                    parts.append(f"(?P<{n.name}>.*?)")
            elif isinstance(n, nodes.Const) and isinstance(n.value, str):
                parts.append(re.escape(n.value))
            else:
                return None
    try:
        return re.compile("".join(parts), re.S)
    except re.error:
        return None


def match_saved(families: list[Family], saved: list[SavedTemplate], contents: Mapping[str, bytes | None],
                loose: Iterable[tuple[str, str, bytes | None]] = ()) -> list[Family]:
    """Mark families that match a saved template (the same template, or every member is a
    rendering of it); return extra families of loose files that render from a saved template.
    `contents` maps a step id to its resulting content."""
    pats = [(rec, _pattern(rec.template)) for rec in saved]

    def text_of(sid: str) -> str | None:
        data = contents.get(sid)
        try:
            return None if data is None else data.decode("utf-8")
        except UnicodeDecodeError:
            return None

    for fam in families:
        for rec, pat in pats:
            same = fam.template == rec.template
            if not same and pat is not None:
                texts = [text_of(m.step) for m in fam.members]
                same = all(t is not None and pat.fullmatch(t) for t in texts)
            if same:
                fam.saved_as = rec.name
                fam.saved_uses = rec.uses
                break
    extra: dict[str, Family] = {}
    usable = [(rec, pat, _literal_prefix(rec.template)) for rec, pat in pats if pat is not None]
    if not usable:
        return []
    for sid, path, data in loose:
        if data is None or len(data) > MAX_FILE:
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        for rec, pat, prefix in usable:
            if not text.startswith(prefix):
                continue
            m = pat.fullmatch(text)
            if m is None:
                continue
            found = extra.get(rec.name)
            if found is None:
                found = extra[rec.name] = Family(id=f"saved:{rec.name}", template=rec.template,
                                                 slots=list(m.groupdict().keys()),
                                                 members=[], saved_as=rec.name, saved_uses=rec.uses)
            found.members.append(FamilyMember(sid, path, dict(m.groupdict())))
            break
    return list(extra.values())


def _literal_prefix(template: str) -> str:
    cut = len(template)
    for tok in ("{{", "{%", "{#"):
        k = template.find(tok)
        if k >= 0:
            cut = min(cut, k)
    return template[:cut]
