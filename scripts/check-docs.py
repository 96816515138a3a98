#!/usr/bin/env python3
# scripts/check-docs.py - the hoursd and hoursctl command lines that README.md
# and docs/*.md show, run against the built binaries, so that the docs cannot
# drift from the programs.  A line that does not work as written fails with
# its FILE:LINE; the run ends with the list of what it skipped and why.
#
#   scripts/check-docs.py [FILE.md ...]      (default: README.md docs/*.md docs/zh-CN/*.md)
#   HOURSD_BIN_DIR=build/san scripts/check-docs.py    (default: build)
#   V=1 scripts/check-docs.py                         (each line as it is checked)
#
# What is a command line: in a code block (fenced with ``` or indented), a
# line whose command is hoursd or hoursctl, also written build/hoursd,
# /usr/sbin/hoursd or after `sudo -u USER` or `runuser -u USER --`; a trailing backslash joins
# the next line, `# comments` are dropped.  In prose, an inline `code` span
# that begins with hoursd or hoursctl is a mention, checked more loosely.
#
# Where: a sandbox directory made for the run, holding a copy of conf/, the
# development PKI of scripts/pki.sh in var/pki (as `make run` makes it), and
# the files the docs' examples name: term.crt (terminal 013800000001's
# certificate), term.p12 (terminal 013800000006's PKCS#12, password
# 123456, and in term.p12.pass) and db-password (a password file).  Programs come from
# HOURSD_BIN_DIR, whatever path the doc shows;
# `sudo -u USER` and `runuser -u USER --` are dropped (the check runs as the current user).
#
# Run, and what must happen:
# - `hoursd -t -c FILE`: "FILE: configuration ok", exit 0.  conf/hoursd.yaml
#   is the sample as written (relative paths into the sandbox); any other
#   FILE (the docs' /etc/hoursd/hoursd.yaml) is replaced by the sample with
#   absolute paths into the sandbox, written by this script.
# - `hoursd --help | --version | --config-keys`, `hoursctl --help |
#   --version`, `hoursctl help ...`, `hoursctl COMMAND ... --help`: exit 0.
# - any other hoursctl line in a code block (it needs a database): run with
#   -c FILE replaced by a configuration whose database is a socket directory
#   that does not exist (conf/hoursd.yaml kept: its var/pg/run is not in the
#   sandbox either), -d CONNINFO replaced by that database, and $HOURSD_DB
#   and $PGHOST set to it: it must fail at "cannot connect" with exit 1,
#   which hoursctl reaches only once the command, its arguments, options and
#   files were all accepted (a usage error exits 2, an unreadable file 1
#   with another message).  No database is ever reached.
# - a synopsis (a placeholder in capitals such as NUMBER or FILE.geojson,
#   [optional], a|b or ...), in a block or in prose, and every other prose
#   mention: `hoursctl help COMMAND [SUBCOMMAND]` of the command it names
#   must exit 0 and its text must name every --option the line uses; for
#   hoursd, `hoursd --help` must name every option.
# - README.md's note on the check before `make run`: the sample checked in a
#   sandbox without var/ must print, first, exactly the error line README quotes.
# Skipped (listed at the end of every run):
# - `hoursd -c FILE` without -t: it starts the service.
# - a prose mention that names no command (`hoursctl -c FILE`).
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.abspath(os.path.join(ROOT, os.environ.get("HOURSD_BIN_DIR", "build")))
PROGRAMS = ("hoursd", "hoursctl")
PLACEHOLDER = re.compile(r"^[A-Z_]+(\.[a-z]+)?$")
SAMPLE = "conf/hoursd.yaml"

failures, skipped, counts = [], [], {"run": 0, "synopsis": 0}
VERBOSE = os.environ.get("V") == "1"


def fail(where, line, why):
    failures.append(f"{where}: {line}\n    {why}")


def run(argv, cwd, env=None):
    """(exit status, stdout, stderr) of argv, with the programs from BIN."""
    prog = os.path.join(BIN, os.path.basename(argv[0]))
    try:
        p = subprocess.run([prog] + argv[1:], cwd=cwd, env=env, capture_output=True,
                           text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return 124, "", "timed out after 60 s"
    return p.returncode, p.stdout, p.stderr


def first_line(text):
    return text.strip().splitlines()[0] if text.strip() else "(nothing)"


def command_lines(path):
    """(line number, text, in_block) of every hoursd/hoursctl line or mention of a doc."""
    found, fenced, prose = [], False, []
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        raw, n = lines[i], i + 1
        i += 1
        if raw.lstrip().startswith("```"):
            fenced = not fenced
            prose.append("")
            continue
        indented = not fenced and (raw.startswith("    ") or raw.startswith("\t"))
        if not (fenced or indented):
            prose.append(raw)
            continue
        prose.append("")
        text = raw.strip()
        while text.endswith("\\") and i < len(lines):
            text = text[:-1] + " " + lines[i].strip()
            prose.append("")
            i += 1
        words = text.split()
        if words[:1] == ["$"]:
            words = words[1:]
        if words[:1] == ["sudo"] and len(words) > 3 and words[1] == "-u":
            words = words[3:]
        if words[:1] == ["runuser"] and len(words) > 4 and words[1] == "-u" and words[3] == "--":
            words = words[4:]
        if words and os.path.basename(words[0]) in PROGRAMS:
            found.append((n, text, True))
    # Mentions: inline spans of the prose, which may run over a line break.
    text = "\n".join(prose)
    for m in re.finditer(r"(?<!`)`([^`]+)`(?!`)", text):
        span = " ".join(m.group(1).split())
        if span.split()[0] in PROGRAMS and len(span.split()) > 1:
            found.append((text.count("\n", 0, m.start()) + 1, span, False))
    return sorted(found)


def words_of(text):
    """The words of a command line as the shell splits them, without sudo and a prompt."""
    words = shlex.split(text, comments=True)
    if words[:1] == ["$"]:
        words = words[1:]
    if words[:1] == ["sudo"] and words[1:2] == ["-u"]:
        words = words[3:]
    if words[:1] == ["runuser"] and words[1:2] == ["-u"] and words[3:4] == ["--"]:
        words = words[4:]
    return words


def is_synopsis(words):
    return any(PLACEHOLDER.match(w) or "[" in w or "|" in w or w == "..." for w in words)


def hoursctl_split(words):
    """(global options as pairs, help or version asked, the rest) of hoursctl's words."""
    opts, flag, i = [], False, 1
    while i < len(words) and words[i].startswith("-"):
        if words[i] in ("-c", "-d") and i + 1 < len(words):
            opts.append((words[i], words[i + 1]))
            i += 2
            continue
        flag = flag or words[i] in ("--help", "-h", "--version", "-V")
        i += 1
    return opts, flag, words[i:]


def check_synopsis(where, text, words, sandbox):
    """The command the line names has help, and its help names every --option of the line."""
    counts["synopsis"] += 1
    if os.path.basename(words[0]) == "hoursd":
        _, out, _ = run(["hoursd", "--help"], sandbox)
        for o in re.findall(r"(?<![\w-])--?[a-z][a-z0-9-]*", " ".join(words[1:])):
            if o != "--help" and not re.search(r"(?<![\w-])" + re.escape(o) + r"(?![\w-])", out):
                fail(where, text, f"hoursd --help does not name {o}")
        return
    _, _, rest = hoursctl_split(words)
    if not rest:
        skipped.append((where, text, "names no command"))
        return
    subs = rest[1].split("|") if len(rest) > 1 else [None]
    for sub in subs:
        names = [rest[0]] + ([sub] if sub and re.match(r"^[a-z][a-z-]*$", sub) else [])
        rc, out, err = run(["hoursctl", "help"] + names, sandbox)
        if rc != 0 and "unexpected" in err and len(names) == 2:
            names = names[:1]  # a command of one word: sub was its argument
            rc, out, err = run(["hoursctl", "help"] + names, sandbox)
        if rc != 0:
            fail(where, text, f"hoursctl help {' '.join(names)}: exit {rc}: {first_line(err)}")
            continue
        for o in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", " ".join(rest)):
            if not re.search(re.escape(o) + r"(?![\w-])", out):
                fail(where, text, f"hoursctl help {' '.join(names)} does not name {o}")


def check_hoursd(where, text, words, sb):
    if any(w in ("--help", "--version", "--config-keys") for w in words[1:]) and "-c" not in words:
        expect_exit0(where, text, words, sb.dir)
        return
    if "-t" not in words and "--test" not in words:
        skipped.append((where, text, "starts the service"))
        return
    words = list(words)
    for i, w in enumerate(words[:-1]):
        if w in ("-c", "--config") and words[i + 1] != SAMPLE:
            words[i + 1] = sb.conf
    counts["run"] += 1
    rc, out, err = run(words, sb.dir)
    if rc != 0 or "configuration ok" not in out:
        fail(where, text,
             f"exit {rc}, expected 0 and \"configuration ok\": {first_line(err + out)}")


def expect_exit0(where, text, words, cwd):
    counts["run"] += 1
    rc, out, err = run(words, cwd)
    if rc != 0 or not out:
        fail(where, text, f"exit {rc}, expected 0 and some output: {first_line(err)}")


def check_hoursctl(where, text, words, sb):
    opts, flag, rest = hoursctl_split(words)
    if flag or rest[:1] == ["help"] or "--help" in rest or "-h" in rest:
        expect_exit0(where, text, words, sb.dir)
        return
    if not rest:
        skipped.append((where, text, "names no command"))
        return
    argv = [words[0]]
    for o, v in opts:
        argv += [o, sb.dead_conf if o == "-c" and v != SAMPLE else
                 sb.dead_conninfo if o == "-d" else v]
    argv += rest
    env = dict(os.environ, HOURSD_DB=sb.dead_conninfo, PGHOST=sb.dead)
    for k in ("PGHOSTADDR", "PGSERVICE", "PGSERVICEFILE"):
        env.pop(k, None)
    counts["run"] += 1
    rc, out, err = run(argv, sb.dir, env)
    if rc != 1 or "cannot connect" not in err:
        fail(where, text, f"exit {rc}, expected 1 at \"cannot connect\" (all else accepted): "
             f"{first_line(err)}")


class Sandbox:
    """A directory as the docs' examples expect: conf/, var/pki, term.crt, term.p12."""

    def __init__(self, with_pki=True):
        self.dir = tempfile.mkdtemp(prefix="hoursd-docs.")
        shutil.copytree(os.path.join(ROOT, "conf"), os.path.join(self.dir, "conf"))
        self.dead = os.path.join(self.dir, "no-postgresql-here")
        self.dead_conninfo = f"host={self.dead} dbname=hoursd"
        if not with_pki:
            return
        pki = os.path.join(self.dir, "var", "pki")
        p = subprocess.run([os.path.join(ROOT, "scripts", "pki.sh"), pki, "013800000001",
                            "013800000006"], capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"check-docs: scripts/pki.sh failed: {p.stderr}")
        shutil.copy(os.path.join(pki, "term-013800000001.crt"), os.path.join(self.dir, "term.crt"))
        shutil.copy(os.path.join(pki, "term-013800000006.p12"), os.path.join(self.dir, "term.p12"))
        # docs/audit.md: role add --password-file db-password
        open(os.path.join(self.dir, "db-password"), "w", encoding="utf-8").write("secret\n")
        # terminal add --p12 term.p12 --p12-pass-file term.p12.pass
        open(os.path.join(self.dir, "term.p12.pass"), "w", encoding="utf-8").write("123456\n")
        sample = open(os.path.join(self.dir, SAMPLE), encoding="utf-8").read()
        absolute = re.sub(r"(?<=[ =])(var|conf)/", self.dir + r"/\1/", sample)
        self.conf = os.path.join(self.dir, "hoursd.yaml")
        open(self.conf, "w", encoding="utf-8").write(absolute)
        self.dead_conf = os.path.join(self.dir, "dead-db.yaml")
        open(self.dead_conf, "w", encoding="utf-8").write(
            re.sub(r'conninfo: ".*"', f'conninfo: "{self.dead_conninfo}"', absolute))


def check_readme_before_make_run():
    """README quotes the error of the sample checked before `make run` made var/."""
    quoted = re.search(r"`(conf/hoursd\.yaml:\d+: tls\.cert [^`]*)`",
                       open(os.path.join(ROOT, "README.md"), encoding="utf-8").read())
    if not quoted:
        fail("README.md", "(the check before make run)", "README quotes no such error line")
        return
    sb = Sandbox(with_pki=False)
    counts["run"] += 1
    rc, _, err = run(["hoursd", "-t", "-c", SAMPLE], sb.dir)
    if rc != 1 or first_line(err) != quoted.group(1):
        fail("README.md", quoted.group(1), f"exit {rc}, stderr: {first_line(err)}")
    shutil.rmtree(sb.dir)


def main():
    os.chdir(ROOT)
    docs = sys.argv[1:] or ["README.md"] + sorted(
        os.path.join("docs", f) for f in os.listdir("docs") if f.endswith(".md")) + sorted(
        os.path.join("docs", "zh-CN", f) for f in os.listdir(os.path.join("docs", "zh-CN"))
        if f.endswith(".md"))
    sb = Sandbox()
    try:
        for doc in docs:
            for n, text, in_block in command_lines(doc):
                where = f"{doc}:{n}"
                try:
                    words = words_of(text)
                except ValueError as e:
                    fail(where, text, f"the shell cannot split it: {e}")
                    continue
                if VERBOSE:
                    print(f"check-docs: {where}: {text}")
                if not in_block:
                    if "--help" in words or "--version" in words or words[1:2] == ["help"]:
                        expect_exit0(where, text, words, sb.dir)
                    else:
                        check_synopsis(where, text, words, sb.dir)
                elif is_synopsis(words[1:]):
                    check_synopsis(where, text, words, sb.dir)
                elif os.path.basename(words[0]) == "hoursd":
                    check_hoursd(where, text, words, sb)
                else:
                    check_hoursctl(where, text, words, sb)
        check_readme_before_make_run()
    finally:
        shutil.rmtree(sb.dir)
    for where, text, why in skipped:
        print(f"check-docs: skipped {where}: {text}  ({why})")
    for f in failures:
        print(f"check-docs: FAILED {f}")
    print(f"check-docs: {counts['run']} command lines run, {counts['synopsis']} synopses and "
          f"mentions checked against the help, {len(skipped)} skipped, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
