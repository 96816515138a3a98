#!/usr/bin/env python3
"""deploy/cluster/lessons.py - a lesson on each of several terminals through
the balancer, every terminal reconnecting when its connection dies.

Usage: lessons.py DIR WAVE RECORDS RATE START_EPOCH [DEADLINE_S]

DIR is a deployment of deploy/cluster/cluster.sh (DIR/env, DIR/pki).  Each
of its TLS terminals (0139..., JT/T 808-2013 over TLS through HAProxy's TLS
port, PROXY v2) and timing terminals (0138..., the timing layout on plain
TCP through HAProxy's plain port, PROXY v1) drives one lesson of RECORDS
records, RATE a second, the first at START_EPOCH, a student and a coach of
its own (numbers by terminal and WAVE).

termsim is one connection: it exits when the connection dies (an instance
killed).  Then this reconnects the way a terminal's firmware does: a new
termsim through the balancer (to another instance), authenticating again,
and going on from the first record it has no answer 0 for (--resume: the
same bytes again, so a record stored before the death is answered as
stored).  Logins are sent again only while they were not answered.  What
each termsim saw answered is appended to DIR/lessons/PHONE-wWAVE.records
("<record_no> <result>"), its output to .log; one line per run in
DIR/lessons/events.log.

Exit 0 when every lesson ended with termsim's exit 0 (every record answered
0, logins and logouts answered) within DEADLINE_S (default 300), else 1
with the reason per terminal.
"""
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("CLUSTER_BIN", os.path.join(HERE, "..", "..", "build"))


def read_env(d):
    env = {}
    with open(os.path.join(d, "env")) as f:
        for line in f:
            for word in line.split():
                if "=" in word and not word.startswith("CONNINFO") and "'" not in word:
                    k, v = word.split("=", 1)
                    env[k] = v
    return env


def acked(path, records):
    """The record sequences (1..records) answered 0 so far."""
    done = set()
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2 and parts[1] == "0":
                    done.add(int(parts[0][-4:]))
    except FileNotFoundError:
        pass
    return {s for s in done if 1 <= s <= records}


class Lesson(threading.Thread):
    def __init__(self, d, env, kind, i, wave, records, rate, start, deadline):
        super().__init__(daemon=True)
        self.d, self.kind, self.records, self.rate = d, kind, records, rate
        self.start_epoch, self.deadline = start, deadline
        pki = os.path.join(d, "pki")
        if kind == "tls":
            self.phone = "0139%08d" % i
            p = self.phone
            self.base = ["--tls", "--layout", "2013", "--port", env["TLS_PORT"],
                         "--ca", pki + "/ca.crt", "--cert", "%s/term-%s.crt" % (pki, p),
                         "--key", "%s/term-%s.key" % (pki, p),
                         "--sign-key", "%s/sign-rsa-%s.key" % (pki, p)]
            who = 100000000000000 + 1000 * wave + i
        else:
            self.phone = "0138%08d" % i
            self.base = ["--plain", "--port", env["PLAIN_PORT"], "--phone", self.phone]
            who = 200000000000000 + 1000 * wave + i
        if kind == "tls":
            self.base += ["--phone", self.phone]
        self.base += ["--host", "127.0.0.1", "--course", "1213010000",
                      "--student", "S%015d" % who, "--coach", "C%015d" % who,
                      "--window", "4", "--rate", str(rate), "--timeout", "60"]
        stem = os.path.join(d, "lessons", "%s-w%d" % (self.phone, wave))
        self.records_file, self.log = stem + ".records", stem + ".log"
        self.ok, self.why, self.runs = False, "not started", 0

    def event(self, text):
        with open(os.path.join(self.d, "lessons", "events.log"), "a") as f:
            f.write("%.3f %s %s\n" % (time.time(), self.phone, text))

    def run(self):
        logged_in = False
        while time.time() < self.deadline:
            done = acked(self.records_file, self.records) if logged_in else set()
            k = next((s for s in range(1, self.records + 1) if s not in done),
                     self.records + 1)
            args = [os.path.join(BIN, "termsim")] + self.base + [
                "--lesson", str(self.records - k + 1),
                "--record-start", str(self.start_epoch + 60 * (k - 1)),
                "--record-seq", str(k), "--records-file", self.records_file]
            if logged_in:
                args.append("--resume")
            self.runs += 1
            with open(self.log, "a") as log:
                log.write("== run %d from record %d%s\n" % (self.runs, k,
                          " (--resume)" if logged_in else ""))
                log.flush()
                p = subprocess.run(args, stdout=subprocess.PIPE, stderr=log, text=True)
                log.write(p.stdout)
            out = dict(l.split("=", 1) for l in p.stdout.splitlines() if "=" in l)
            if out.get("student_login_result") == "1" and out.get("coach_login_result") == "1":
                logged_in = True
            self.event("run %d from record %d: exit %d" % (self.runs, k, p.returncode))
            if p.returncode == 0:
                self.ok, self.why = True, "done"
                return
            self.why = "termsim exited %d in run %d (see %s)" % (p.returncode, self.runs,
                                                                  self.log)
            time.sleep(1)  # a terminal waits before it reconnects; auth times must grow
        self.why += "; deadline passed"


def main():
    if len(sys.argv) not in (6, 7):
        sys.exit(__doc__)
    d, wave, records = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rate, start = float(sys.argv[4]), int(sys.argv[5])
    deadline = time.time() + (int(sys.argv[6]) if len(sys.argv) == 7 else 300)
    env = read_env(d)
    os.makedirs(os.path.join(d, "lessons"), exist_ok=True)
    n = int(env["TERMINALS"])
    lessons = [Lesson(d, env, kind, i, wave, records, rate, start, deadline)
               for kind in ("tls", "timing") for i in range(1, n + 1)]
    for l in lessons:
        l.start()
    for l in lessons:
        l.join()
    bad = [l for l in lessons if not l.ok]
    for l in lessons:
        print("lesson %s wave %d: %s after %d connection(s)" % (l.phone, wave, l.why, l.runs))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
