#!/usr/bin/env python3
"""Structural metrics of the forum's Rust tree, printed as a small Markdown report.

Why: the architecture refactor (one after-write effects mechanism, no module cycles, shorter
handlers, named error codes and cursor scopes) should be measurable, so run this on the tree
before and after and compare. Stdlib only; it reads the sources and never builds anything.

What it measures (all best effort, text-based, no compiler):
  1. actix-web handler length in api/src/routes/*.rs (fn line to closing brace; a handler
     written in a macro_rules! template counts once per invocation, with the template's length);
  2. hand-written after-write effects (cache forgets/invalidations, `state.wrote(..)`, session
     cache clears) in api/src outside the mechanism file(s) given by --mechanism;
  3. module import cycles per crate (domain, api, jobs): strongly connected components of the
     module graph built from `crate::` / `super::` / `self::` / child-module paths;
  4. non-blank lines of Rust per crate;
  5. loose error code strings passed to `ApiError::new(status, "code", ..)` (a snake_case
     literal as 2nd argument; anything else is listed as "without a code literal");
  6. cursor scope string literals (`"posts:hot"`, `const SCOPE: &str = ".."`, `scope: ".."`).

Comments and the insides of string/char literals are blanked before matching, and
`#[cfg(test)]` items (test modules) are skipped for metrics 1, 2, 3, 5 and 6.

Usage: scripts/arch-metrics.py [ROOT] [--mechanism PATH]...
"""

import argparse
import bisect
import os
import re
import statistics
import subprocess
import sys
from collections import Counter, defaultdict

CRATES_LOC = ["api", "domain", "jobs", "tests", "benches"]
GRAPH_CRATES = ["domain", "api", "jobs"]
DEFAULT_MECHANISM = "api/src/effects.rs"

EFFECT_PATTERNS = [
    r"\.wrote\(",
    r"listings::forget",
    r"summaries::forget",
    r"forget_post",
    r"forget_listing",
    r"invalidate",
    r"\.local\w*\.clear\(",
    r"sessions_seen\.(clear|remove|forget)",
    r"cache\.(del|delete|forget|invalidate)\w*\(",
]

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


# --------------------------------------------------------------------------------------------
# Lexing: blank comments and literal contents, remember string literals
# --------------------------------------------------------------------------------------------

RAW_STR_RE = re.compile(r'(?:b|c)?r(#*)"')
PREFIXED_STR_RE = re.compile(r'(?:b|c)"')


class Source:
    """A Rust file: original text, sanitized text (same length, same line breaks), literals."""

    def __init__(self, root, rel):
        self.rel = rel
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            self.text = f.read()
        self.lines = self.text.split("\n")
        self.line_starts = [0]
        for i, ch in enumerate(self.text):
            if ch == "\n":
                self.line_starts.append(i + 1)
        self.san, self.literals = sanitize(self.text)
        self.test_ranges = cfg_test_ranges(self.san)
        self.code = mask(self.san, self.test_ranges)  # sanitized, test items blanked

    def line_of(self, offset):
        return bisect.bisect_right(self.line_starts, offset)  # 1-based

    def in_tests(self, offset):
        return any(a <= offset < b for a, b in self.test_ranges)


def sanitize(src):
    """Returns (text with comments and literal contents replaced by spaces, literals).

    literals: list of (start, end, value); start/end span the whole literal including quotes
    and prefixes, value is the raw (unescaped) content.
    """
    out = list(src)
    lits = []
    n = len(src)

    def blank(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    i = 0
    while i < n:
        c = src[i]
        if c == "/" and src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
            continue
        if c == "/" and src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            blank(i, j)
            i = j
            continue
        prev = src[i - 1] if i > 0 else ""
        ident_before = prev.isalnum() or prev == "_"
        if c in "rbc" and not ident_before:
            m = RAW_STR_RE.match(src, i)
            if m:
                close = '"' + m.group(1)
                j = src.find(close, m.end())
                j = n if j < 0 else j
                lits.append((i, j + len(close), src[m.end():j]))
                blank(m.end(), j)
                i = j + len(close)
                continue
            m = PREFIXED_STR_RE.match(src, i)
            if m:
                i = plain_string(src, m.end() - 1, i, lits, blank)
                continue
            if c == "b" and src.startswith("b'", i):
                i += 1
                c = "'"
        if c == '"':
            i = plain_string(src, i, i, lits, blank)
            continue
        if c == "'":
            if i + 1 < n and src[i + 1] == "\\":
                j = src.find("'", i + 3)
                j = n if j < 0 else j
                blank(i + 1, j)
                i = j + 1
                continue
            if i + 2 < n and src[i + 2] == "'" and src[i + 1] != "'":
                blank(i + 1, i + 2)
                i += 3
                continue
            i += 1  # a lifetime or label
            continue
        i += 1
    return "".join(out), lits


def plain_string(src, quote, start, lits, blank):
    """Records the `"..."` literal whose opening quote is at `quote`; returns the index after."""
    n = len(src)
    j = quote + 1
    while j < n and src[j] != '"':
        j += 2 if src[j] == "\\" else 1
    lits.append((start, j + 1, src[quote + 1:j]))
    blank(quote + 1, j)
    return j + 1


def mask(text, ranges):
    if not ranges:
        return text
    out = list(text)
    for a, b in ranges:
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "
    return "".join(out)


def match_close(text, open_idx):
    """Index just after the bracket closing the one at open_idx (text must be sanitized)."""
    pairs = {"{": "}", "(": ")", "[": "]", "<": ">"}
    o = text[open_idx]
    cl = pairs[o]
    depth = 0
    for k in range(open_idx, len(text)):
        ch = text[k]
        if ch == o:
            depth += 1
        elif ch == cl:
            depth -= 1
            if depth == 0:
                return k + 1
    return len(text)


def skip_ws_and_attrs(text, i):
    n = len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if text.startswith("#[", i):
            i = match_close(text, i + 1)
            continue
        return i


CFG_TEST_RE = re.compile(r"#\s*\[\s*cfg\s*\(\s*test\s*\)\s*\]")
INNER_CFG_TEST_RE = re.compile(r"#!\s*\[\s*cfg\s*\(\s*test\s*\)\s*\]")


def cfg_test_ranges(san):
    """Spans of items annotated `#[cfg(test)]` (the attribute through the item's end)."""
    if INNER_CFG_TEST_RE.search(san):
        return [(0, len(san))]
    ranges = []
    for m in CFG_TEST_RE.finditer(san):
        if ranges and m.start() < ranges[-1][1]:
            continue
        i = skip_ws_and_attrs(san, m.end())
        end = len(san)
        for k in range(i, len(san)):
            if san[k] == ";":
                end = k + 1
                break
            if san[k] == "{":
                end = match_close(san, k)
                break
        ranges.append((m.start(), end))
    return ranges


def rs_files(root, sub):
    base = os.path.join(root, sub)
    found = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d != "target" and not d.startswith("."))
        for fn in sorted(filenames):
            if fn.endswith(".rs"):
                found.append(os.path.relpath(os.path.join(dirpath, fn), root))
    return sorted(found)


# --------------------------------------------------------------------------------------------
# 1. Handler length
# --------------------------------------------------------------------------------------------

HANDLER_ATTR_RE = re.compile(r"#\s*\[\s*(?:actix_web\s*::\s*)?(get|post|put|patch|delete)\s*\(")
FN_HEAD_RE = re.compile(r"(?:pub(?:\s*\([^)]*\))?\s+)?(?:async\s+)?fn\s+(\$?" + IDENT + r")")
MACRO_RULES_RE = re.compile(r"macro_rules!\s*(" + IDENT + r")\s*\{")


def handlers(root):
    found = []
    routes = os.path.join(root, "api", "src", "routes")
    if not os.path.isdir(routes):
        return found
    for fn in sorted(os.listdir(routes)):
        if not fn.endswith(".rs"):
            continue
        src = Source(root, os.path.join("api", "src", "routes", fn))
        t = src.code
        for m in HANDLER_ATTR_RE.finditer(t):
            attr_end = match_close(t, t.index("[", m.start()))
            i = skip_ws_and_attrs(t, attr_end)
            fm = FN_HEAD_RE.match(t, i)
            if not fm:
                continue
            params = t.index("(", fm.end())
            body = t.index("{", match_close(t, params))
            end = match_close(t, body)
            first = src.line_of(fm.start())
            last = src.line_of(end - 1)
            name = fm.group(1)
            if not name.startswith("$"):
                found.append((last - first + 1, name, src.rel, first))
                continue
            # A handler written once in a macro_rules! template: one handler per invocation,
            # named by the invocation's first argument (best effort).
            macro = None
            for mm in MACRO_RULES_RE.finditer(t):
                if mm.start() < m.start() < match_close(t, mm.end() - 1):
                    macro = mm.group(1)
            if not macro:
                continue
            for inv in re.finditer(r"(?<![\w!])" + macro + r"!\s*[(\[{]\s*(" + IDENT + r")", t):
                found.append((last - first + 1, "%s (via %s!)" % (inv.group(1), macro),
                              src.rel, first))
    return found


# --------------------------------------------------------------------------------------------
# 2. Hand-written after-write effects
# --------------------------------------------------------------------------------------------

DEF_LINE_RE = re.compile(r"^\s*(?:pub(?:\s*\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?fn\b")
USE_RE = re.compile(r"(?<![\w:])use\s+")


def use_statement_ranges(code):
    ranges = []
    for m in USE_RE.finditer(code):
        end = code.find(";", m.end())
        end = len(code) if end < 0 else end + 1
        ranges.append((m.start(), end))
    return ranges


def join_chains(code):
    """Drops whitespace next to `.` and `::` (so rustfmt-split method chains match), keeping a
    map from each kept character to its offset in `code`."""
    keep = []
    n = len(code)
    i = 0
    for m in re.finditer(r"\s+", code):
        a, b = m.start(), m.end()
        keep.extend(range(i, a))
        before = code[a - 1] if a > 0 else ""
        after = code[b] if b < n else ""
        if not (before == "." or after == "." or code[max(0, a - 2):a] == "::"
                or code[b:b + 2] == "::"):
            keep.extend(range(a, b))
        i = b
    keep.extend(range(i, n))
    return "".join(code[k] for k in keep), keep


def effects(root, mechanisms):
    pats = [re.compile(p) for p in EFFECT_PATTERNS]
    sites = []
    for rel in rs_files(root, os.path.join("api", "src")):
        if os.path.normpath(rel) in mechanisms:
            continue
        src = Source(root, rel)
        code = mask(src.code, use_statement_ranges(src.code))
        joined, offs = join_chains(code)
        spans = []
        for p in pats:
            for m in p.finditer(joined):
                spans.append((m.start(), m.end()))
        spans.sort()
        merged = []
        for a, b in spans:
            if merged and a < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        code_lines = code.split("\n")
        for a, b in merged:
            if DEF_LINE_RE.match(code_lines[src.line_of(offs[a]) - 1]):
                continue
            line = src.line_of(offs[b - 1])  # where the call itself is (chains span lines)
            sites.append((rel, line, joined[a:b], src.lines[line - 1].strip()))
    return sites


# --------------------------------------------------------------------------------------------
# 3. Module graph and cycles
# --------------------------------------------------------------------------------------------

PATH_RE = re.compile(r"(?<![\w:$#'])(" + IDENT + r")((?:\s*::\s*" + IDENT + r")+)")
INLINE_MOD_RE = re.compile(r"(?<![\w])mod\s+(" + IDENT + r")\s*\{")


def module_of(rel_in_src):
    parts = rel_in_src.replace(os.sep, "/").split("/")
    stem = parts[-1][:-3]
    if len(parts) == 1 and stem in ("lib", "main"):
        return ()
    if stem == "mod":
        return tuple(parts[:-1])
    return tuple(parts[:-1]) + (stem,)


def mod_name(m):
    return "::".join(m) if m else "crate (lib.rs)"


def expand_use(tree):
    """`a::{b, c::{self, d}}` -> [[a, b], [a, c], [a, c, d]] (whitespace and `as` removed)."""
    tree = tree.strip()
    if tree.startswith("::"):
        return []  # an extern crate path
    brace = tree.find("{")
    if brace < 0:
        segs = [s for s in tree.split("::") if s]
        if segs and segs[-1] == "*":
            segs = segs[:-1]
        if segs and segs[-1] == "self":
            segs = segs[:-1]
        return [segs] if segs else []
    prefix = [s for s in tree[:brace].split("::") if s]
    inner = tree[brace + 1:match_close(tree, brace) - 1]
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        p = p.strip()
        if not p:
            continue
        if p == "self":
            out.append(list(prefix))
            continue
        for sub in expand_use(p):
            out.append(prefix + sub)
    return out


def resolve(segs, cur, modules, children):
    """The module a path names (longest existing module prefix), or None if not in this crate."""
    if not segs:
        return None
    head = segs[0]
    if head == "crate":
        full = list(segs[1:])
    elif head == "super":
        base = list(cur)
        k = 0
        while k < len(segs) and segs[k] == "super":
            base = base[:-1]
            k += 1
        full = base + list(segs[k:])
    elif head == "self":
        full = list(cur) + list(segs[1:])
    elif head in children.get(tuple(cur), ()):
        full = list(cur) + list(segs)
    else:
        return None
    for k in range(len(full), -1, -1):
        if tuple(full[:k]) in modules:
            return tuple(full[:k])
    return None


def module_graph(root, crate):
    src_dir = os.path.join(crate, "src")
    files = {}
    for rel in rs_files(root, src_dir):
        inner = os.path.relpath(rel, src_dir)
        if inner == "main.rs" or inner.replace(os.sep, "/").startswith("bin/"):
            continue  # binary crate roots: a separate crate
        files[module_of(inner)] = rel
    modules = set(files)
    children = defaultdict(set)
    for m in modules:
        if m:
            children[m[:-1]].add(m[-1])
    edges = defaultdict(dict)  # src -> {dst: "file:line"}
    for mod, rel in sorted(files.items()):
        src = Source(root, rel)
        code = src.code
        inline = []
        for m in INLINE_MOD_RE.finditer(code):
            inline.append((m.start(), match_close(code, m.end() - 1), m.group(1)))

        def cur_at(off):
            return mod + tuple(name for a, b, name in inline if a <= off < b)

        def add(target, off):
            if target is None or target == mod or target == ():
                return  # self loops; edges to lib.rs (every module's ancestor) are ignored
            edges[mod].setdefault(target, "%s:%d" % (rel, src.line_of(off)))

        uses = use_statement_ranges(code)
        for a, b in uses:
            text = code[code.index("use", a) + 3:b - 1]
            text = re.sub(r"\s+as\s+" + IDENT, "", text)
            text = re.sub(r"\s+", "", text)
            for segs in expand_use(text):
                add(resolve(segs, cur_at(a), modules, children), a)
        rest = mask(code, uses)
        for m in PATH_RE.finditer(rest):
            segs = [m.group(1)] + [s.strip() for s in m.group(2).split("::") if s.strip()]
            add(resolve(segs, cur_at(m.start()), modules, children), m.start())
    return modules, edges


def tarjan(nodes, edges):
    index, low, on, stack, sccs = {}, {}, set(), [], []
    counter = [0]
    sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, {})):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            sccs.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return [c for c in sccs if len(c) > 1]


def is_descendant(a, b):
    """a is strictly inside b."""
    return len(a) > len(b) and a[:len(b)] == b


# --------------------------------------------------------------------------------------------
# 5. Error codes, 6. cursor scopes
# --------------------------------------------------------------------------------------------

def call_args(code, open_paren):
    """Top-level argument spans of the call whose `(` is at open_paren."""
    end = match_close(code, open_paren) - 1
    spans, depth, start = [], 0, open_paren + 1
    for k in range(open_paren + 1, end):
        ch = code[k]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            spans.append((start, k))
            start = k + 1
    if code[start:end].strip():
        spans.append((start, end))
    return spans


def literal_in(src, a, b):
    """The value of a string literal that is exactly the argument span [a, b), else None."""
    seg = src.code[a:b]
    lead = len(seg) - len(seg.lstrip())
    trail = len(seg.rstrip())
    for s, e, v in src.literals:
        if s == a + lead and e == a + trail:
            return v
    return None


CODE_RE = re.compile(r"[a-z][a-z0-9_]*")  # a code, not a sentence (a detail)


def error_codes(root):
    new_re = re.compile(r"\bApiError\s*::\s*new\s*\(")
    other_re = re.compile(r"\bApiError\s*::\s*(bad_request|conflict)\s*\(")
    self_re = re.compile(r"\bSelf\s*::\s*(new|bad_request|conflict)\s*\(")
    new_codes, other_codes, non_literal = Counter(), Counter(), []
    for rel in rs_files(root, os.path.join("api", "src")):
        src = Source(root, rel)
        for m in new_re.finditer(src.code):
            args = call_args(src.code, m.end() - 1)
            v = literal_in(src, *args[1]) if len(args) > 1 else None
            if v is None or not CODE_RE.fullmatch(v):
                non_literal.append("%s:%d" % (rel, src.line_of(m.start())))
            else:
                new_codes[v] += 1
        for m in other_re.finditer(src.code):
            args = call_args(src.code, m.end() - 1)
            v = literal_in(src, *args[0]) if args else None
            if v is not None and CODE_RE.fullmatch(v):
                other_codes[v] += 1
        if os.path.normpath(rel) == os.path.normpath("api/src/error.rs"):
            for m in self_re.finditer(src.code):
                args = call_args(src.code, m.end() - 1)
                k = 1 if m.group(1) == "new" else 0
                v = literal_in(src, *args[k]) if len(args) > k else None
                if v is not None and CODE_RE.fullmatch(v):
                    other_codes[v] += 1
    return new_codes, other_codes, non_literal


SCOPE_LIT_RE = re.compile(r"[a-z_]+:[a-z_]+")
SCOPE_TEMPLATE_RE = re.compile(r"[a-z_]+:[a-z_{}:]*\{[a-z_:{}]*")
FN_RE = re.compile(r"\bfn\s+(" + IDENT + r")")
SCOPE_FIELD_RE = re.compile(r"^\s*scope\s*:\s*(.+?),?\s*$")


def fn_ranges(code):
    out = []
    for m in FN_RE.finditer(code):
        p = code.find("(", m.end())
        if p < 0:
            continue
        after = match_close(code, p)
        k = after
        while k < len(code) and code[k] not in "{;":
            k += 1
        if k < len(code) and code[k] == "{":
            out.append((k, match_close(code, k), m.group(1)))
    return out


def cursor_scopes(root):
    found = defaultdict(lambda: {"kinds": set(), "where": []})
    constructions = []
    for sub in (os.path.join("api", "src"), os.path.join("domain", "src")):
        for rel in rs_files(root, sub):
            src = Source(root, rel)
            code = src.code
            fns = fn_ranges(code)
            for s, e, v in src.literals:
                if src.in_tests(s):
                    continue
                before = code[max(0, s - 80):s]
                line = src.line_of(s)
                kind = None
                if SCOPE_LIT_RE.fullmatch(v):
                    kind = "literal"
                elif re.search(r"const\s+\w*SCOPE\w*\s*:\s*&\s*(?:'static\s+)?str\s*=\s*$",
                               before):
                    kind = "SCOPE const"
                elif re.search(r"\bscope\s*:\s*$", before):
                    kind = "scope: field"
                elif re.search(r"Cursor\s*::\s*decode\s*\([^,()]*,\s*$", before):
                    kind = "decode arg"
                elif re.search(r"format!\s*\(\s*$", before) and SCOPE_TEMPLATE_RE.fullmatch(v):
                    enclosing = [name for a, b, name in fns if a <= s < b]
                    if "scope" in code.split("\n")[line - 1] or any(
                            "scope" in name for name in enclosing):
                        kind = "format! template"
                if kind:
                    found[v]["kinds"].add(kind)
                    found[v]["where"].append("%s:%d" % (rel, line))
            for no, text in enumerate(code.split("\n"), 1):
                m = SCOPE_FIELD_RE.match(text)
                if m:
                    rhs = m.group(1).strip()
                    if not re.search(r"[.(\"!]", rhs) and not re.fullmatch(r"[a-z_]\w*", rhs):
                        continue  # a field or parameter type (`String`, `&str`), not a value
                    constructions.append(("%s:%d" % (rel, no), src.lines[no - 1].strip()))
    return found, constructions


# --------------------------------------------------------------------------------------------
# 4. Lines of Rust
# --------------------------------------------------------------------------------------------

def loc(root):
    per = Counter()
    for rel in rs_files(root, "."):
        top = rel.replace(os.sep, "/").split("/")[0]
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            n = sum(1 for line in f if line.strip())
        per[top if top in CRATES_LOC else "other"] += n
    return per


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------

def commit_of(root):
    try:
        out = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def find_root():
    d = os.path.dirname(os.path.abspath(__file__))
    probe = d
    while True:
        cargo = os.path.join(probe, "Cargo.toml")
        if os.path.isfile(cargo):
            with open(cargo, encoding="utf-8") as f:
                if "[workspace]" in f.read():
                    return probe
        parent = os.path.dirname(probe)
        if parent == probe:
            return os.path.dirname(d)
        probe = parent


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root", nargs="?", help="workspace root (default: the repository of this "
                    "script)")
    ap.add_argument("--mechanism", action="append", metavar="PATH",
                    help="file holding the one after-write effects mechanism, relative to ROOT; "
                    "repeatable (default: %s)" % DEFAULT_MECHANISM)
    args = ap.parse_args()
    root = os.path.abspath(args.root or find_root())
    mechanisms = set()
    for p in args.mechanism or [DEFAULT_MECHANISM]:
        mechanisms.add(os.path.normpath(os.path.relpath(os.path.abspath(os.path.join(root, p)),
                                                        root)))
    p = print

    commit = commit_of(root)
    p("# Architecture metrics")
    p()
    p("Tree: `%s`%s" % (root, " at commit `%s`" % commit if commit else ""))
    p()

    # 1
    hs = handlers(root)
    p("## 1. Handler length (`api/src/routes/*.rs`, lines from `fn` to closing brace)")
    p()
    if hs:
        hs.sort(key=lambda h: (-h[0], h[2], h[3]))
        top = hs[0]
        p("- handlers: **%d**, median **%s** lines, total %d lines" % (
            len(hs), fmt_num(statistics.median(h[0] for h in hs)), sum(h[0] for h in hs)))
        p("- largest: **%d** lines, `%s` (%s:%d)" % (top[0], top[1], top[2], top[3]))
        over = [30, 50]
        p("- over %s lines: %s" % (" / ".join(map(str, over)),
                                    " / ".join(str(sum(1 for h in hs if h[0] > o)) for o in over)))
        p()
        p("| lines | handler | where |")
        p("|---:|---|---|")
        for n, name, rel, line in hs[:5]:
            p("| %d | `%s` | %s:%d |" % (n, name, rel, line))
    else:
        p("- no handlers found")
    p()

    # 2
    sites = effects(root, mechanisms)
    p("## 2. Hand-written after-write effects in `api/src` (outside %s)" % ", ".join(
        "`%s`" % m for m in sorted(mechanisms)))
    p()
    p("Call sites: **%d**" % len(sites))
    p()
    per_file = Counter(s[0] for s in sites)
    if per_file:
        p("| file | sites |")
        p("|---|---:|")
        for rel, n in sorted(per_file.items(), key=lambda x: (-x[1], x[0])):
            p("| %s | %d |" % (rel, n))
        p()
        for rel, line, what, text in sites:
            p("- %s:%d `%s`" % (rel, line, text))
        p()

    # 3
    p("## 3. Module import cycles (strongly connected components > 1 module)")
    p()
    total_sccs = total_mods = 0
    cross_sccs = cross_mods = 0
    body = []
    for crate in GRAPH_CRATES:
        if not os.path.isdir(os.path.join(root, crate, "src")):
            continue
        modules, edges = module_graph(root, crate)
        nedges = sum(len(v) for v in edges.values())
        sccs = tarjan(modules, edges)
        # the same graph without parent -> descendant edges (a mod.rs using its own children)
        down_free = {a: {b: w for b, w in d.items() if not is_descendant(b, a)}
                     for a, d in edges.items()}
        cross = tarjan(modules, down_free)
        total_sccs += len(sccs)
        total_mods += sum(len(c) for c in sccs)
        cross_sccs += len(cross)
        cross_mods += sum(len(c) for c in cross)
        body.append("### %s: %d modules, %d edges, %d cyclic SCCs (%d modules); without "
                    "parent->child edges: %d SCCs (%d modules)" % (
                        crate, len(modules), nedges, len(sccs), sum(len(c) for c in sccs),
                        len(cross), sum(len(c) for c in cross)))
        body.append("")
        for comp in sorted(cross, key=lambda c: (-len(c), c)):
            body.append("- without parent->child edges: %s" % ", ".join(
                "`%s`" % mod_name(m) for m in comp))
        if cross:
            body.append("")
        for k, comp in enumerate(sorted(sccs, key=lambda c: (-len(c), c)), 1):
            members = set(comp)
            body.append("%d. %d modules: %s" % (k, len(comp), ", ".join(
                "`%s`" % mod_name(m) for m in comp)))
            for a in comp:
                for b, where in sorted(edges.get(a, {}).items()):
                    if b in members:
                        body.append("   - `%s` -> `%s` (%s)" % (mod_name(a), mod_name(b),
                                                                where))
        if sccs:
            body.append("")
    p("Total: **%d** cyclic SCCs, **%d** modules involved (without parent->child edges: "
      "%d SCCs, %d modules)" % (total_sccs, total_mods, cross_sccs, cross_mods))
    p()
    for line in body:
        p(line)

    # 4
    per = loc(root)
    p("## 4. Non-blank lines of Rust (`*.rs`, excluding `target/`)")
    p()
    p("| crate | lines |")
    p("|---|---:|")
    for c in CRATES_LOC + (["other"] if per.get("other") else []):
        p("| %s | %d |" % (c, per.get(c, 0)))
    p("| **total** | **%d** |" % sum(per.values()))
    p()

    # 5
    new_codes, other_codes, non_literal = error_codes(root)
    p("## 5. Loose error code strings (`ApiError::new(status, \"code\", ..)` in `api/src`)")
    p()
    p("Distinct literal codes: **%d**, occurrences: **%d**%s" % (
        len(new_codes), sum(new_codes.values()),
        ("; calls without a code literal as 2nd argument: %d (%s)" % (len(non_literal), ", ".join(non_literal))
         if non_literal else "")))
    p()
    p(", ".join("`%s` x%d" % (c, n) for c, n in sorted(new_codes.items())) or "(none)")
    p()
    union = set(new_codes) | set(other_codes)
    p("Also as code arguments of `ApiError::bad_request/conflict` and the `Self::` "
      "constructors in `api/src/error.rs`: %d distinct, %d occurrences; all code literals "
      "together: %d distinct." % (len(other_codes), sum(other_codes.values()), len(union)))
    p()

    # 6
    found, constructions = cursor_scopes(root)
    p("## 6. Cursor scope literals (`api/src`, `domain/src`)")
    p()
    p("Distinct literals: **%d**, occurrences: **%d**; `scope: <expr>` field constructions: "
      "**%d**" % (len(found), sum(len(v["where"]) for v in found.values()), len(constructions)))
    p()
    p("| literal | kind | count | where |")
    p("|---|---|---:|---|")
    for v, info in sorted(found.items()):
        p("| `%s` | %s | %d | %s |" % (v, ", ".join(sorted(info["kinds"])), len(info["where"]),
                                     ", ".join(info["where"])))
    p()
    p("`scope:` constructions: " + ", ".join(w for w, _ in constructions))


def fmt_num(x):
    return str(int(x)) if float(x).is_integer() else "%.1f" % x


if __name__ == "__main__":
    main()
