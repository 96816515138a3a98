#!/usr/bin/env python3
# scripts/check-layers.py - calls and includes run down the layers only: no
# two files of the daemon (src/*.c, src/pdf/*.c with include/*.h), nor of one
# tool (src/tools/NAME/ over src/tools/common/), reach each other in a loop.
# docs/architecture.md, "Layers", says why.
#
# A file calls another when it names a function or global that the other
# defines (not static) and that a header declares; a module is a .c with its
# header, and it includes another when its .c or .h includes the other's
# header.  Each loop found is printed with the names that tie it, and the
# exit status is 1.  Run by scripts/run-tests.sh; needs only python3.
#
#   scripts/check-layers.py [-v]     (-v: each part's files by floor)
import os
import re
import sys
from collections import defaultdict

IDENT = re.compile(r"\b[A-Za-z_]\w*\b")
# A definition at column 0 as clang-format lays it out: the return type and
# the name on one line, the arguments maybe on several, "{" alone on a line.
FUNC_DEF = re.compile(r"^(?!static\b)(?!typedef\b)[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w*)\s*"
                      r"\([^;{}]*?\)[\w \t\(\),]*\n\{", re.M)
VAR_DEF = re.compile(r"^(?!static\b)(?!extern\b)(?!typedef\b)(?!return\b)"
                     r"(?!(?:struct|union|enum)\s+\w+\s*;)"
                     r"[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w*)\s*(?:\[[^\]]*\])*\s*(?:=|;)", re.M)
INCLUDE = re.compile(r'^#include "([^"]+)"', re.M)


def text_of(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def strip(t):
    t = re.sub(r"/\*.*?\*/", " ", t, flags=re.S)
    t = re.sub(r'"(\\.|[^"\\\n])*"', '""', t)
    return re.sub(r"'(\\.|[^'\\\n])*'", "''", t)


def top_level(t):
    """The text outside every brace pair (file scope only)."""
    out, depth = [], 0
    for ch in t:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def sccs(graph, nodes):
    index, low, stack, on, found = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(100000)

    def visit(n):
        index[n] = low[n] = counter[0]
        counter[0] += 1
        stack.append(n)
        on.add(n)
        for m in sorted(graph.get(n, ())):
            if m not in index:
                visit(m)
                low[n] = min(low[n], low[m])
            elif m in on:
                low[n] = min(low[n], index[m])
        if low[n] == index[n]:
            comp = []
            while True:
                m = stack.pop()
                on.discard(m)
                comp.append(m)
                if m == n:
                    break
            found.append(sorted(comp))

    for n in sorted(nodes):
        if n not in index:
            visit(n)
    return found


def module(path):
    base, _ = os.path.splitext(path)
    if base.startswith("include/"):
        return "src/" + base[len("include/"):]
    return base


def resolve(inc, where):
    for cand in (os.path.join(os.path.dirname(where), inc), os.path.join("src/tools", inc),
                 os.path.join("include", inc)):
        if os.path.exists(cand):
            return os.path.normpath(cand)
    return None  # generated (queries.h, paths.h) or the system's


def check(name, sources, headers, verbose):
    declared = set()
    for h in headers:
        declared.update(IDENT.findall(strip(text_of(h))))
    defs = defaultdict(set)
    texts = {}
    for c in sources:
        t = strip(text_of(c))
        texts[c] = t
        for m in FUNC_DEF.finditer(t):
            defs[m.group(1)].add(c)
        for m in VAR_DEF.finditer(top_level(t)):
            defs[m.group(1)].add(c)
    owner = {n: next(iter(fs)) for n, fs in defs.items() if len(fs) == 1 and n in declared}
    calls, why = defaultdict(set), {}
    for c, t in texts.items():
        for n in set(IDENT.findall(t)):
            d = owner.get(n)
            if d and d != c:
                calls[c].add(d)
                why.setdefault((c, d), set()).add(n)
    includes = defaultdict(set)
    for f in sources + headers:
        for inc in INCLUDE.findall(text_of(f)):
            target = resolve(inc, f)
            if target and module(target) != module(f):
                includes[module(f)].add(module(target))
                why.setdefault((module(f), module(target)), set()).add('"%s"' % inc)
    bad = 0
    for kind, graph, nodes in (("call", calls, sources),
                               ("include", includes, {module(f) for f in sources + headers})):
        for comp in sccs(graph, nodes):
            if len(comp) < 2:
                continue
            bad += 1
            print("%s: a %s loop of %d: %s" % (name, kind, len(comp), " ".join(comp)))
            for a in comp:
                for b in comp:
                    if b in graph.get(a, ()):
                        print("    %s -> %s: %s" % (a, b, ", ".join(sorted(why[(a, b)]))))
    if verbose and not bad:
        floor = {}

        def height(n):
            if n not in floor:
                floor[n] = 1 + max((height(m) for m in calls.get(n, ())), default=0)
            return floor[n]

        for n in sources:
            height(n)
        print("%s, by floor (a file calls only files on lower floors):" % name)
        for f in range(max(floor.values()), 0, -1):
            names = sorted(os.path.basename(n) for n in sources if floor[n] == f)
            print("  %2d  %s" % (f, " ".join(names)))
    return bad


def files(pattern_dirs, ext):
    out = []
    for d in pattern_dirs:
        if os.path.isdir(d):
            out += sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(ext))
    return out


def main():
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    verbose = "-v" in sys.argv[1:]
    parts = [("daemon", files(["src", "src/pdf"], ".c"), files(["include"], ".h"))]
    common_c, common_h = files(["src/tools/common"], ".c"), files(["src/tools/common"], ".h")
    for prog in sorted(os.listdir("src/tools")):
        d = os.path.join("src/tools", prog)
        if prog == "common" or not os.path.isdir(d):
            continue
        parts.append(("tools/" + prog, files([d], ".c") + common_c,
                      files([d], ".h") + common_h + files(["include"], ".h")))
    bad = sum(check(name, srcs, hdrs, verbose) for name, srcs, hdrs in parts)
    if bad:
        print("check-layers: %d loop(s): a lower file hands back a result, or a handler "
              "table reaches up (docs/architecture.md, \"Layers\")" % bad)
        return 1
    print("check-layers: no call or include loop in %s" % ", ".join(p[0] for p in parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
