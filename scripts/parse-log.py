#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Reads the test guest's serial log (and the host's own results) and judges the run.

Counted as results:
  - host checks: lines "PASS name" / "FAIL name" / "SKIP name" of --host-results;
  - KUnit cases (KTAP) in the kernel log of the "kunit" phase;
  - guest test programs: TAP lines "[prog] ok N ..." / "[prog] not ok N ...", and a program
    that exits with neither success nor skip without reporting a failure counts as one;
  - kernel splats (KASAN, UBSAN, lockdep, BUG, WARNING, Oops, kmemleak reports) anywhere in the
    kernel log dumps: each one is a failure, whatever the tests said;
  - the whole console, dumps or not: a panic, an OOM kill, a BUG, an Oops, a soft lockup or a
    hung task printed anywhere is a failure (the console shows what no later dump can: a panic
    ends the guest before it);
  - the guest script itself must report that it finished (its own end marker, printed by its
    last line: a script killed half way, by the OOM killer say, never prints it), the kmemleak
    section must be there, and the count of results must reach the floor (--floor, kept in the
    repo), so a test program that silently stops running fails the run.

Prints one line per result, then "N passed, N failed[, N skipped]" last. Exit status 1 on any
failure.
"""

import argparse
import re
import sys

TIMESTAMP = re.compile(r"^\[\s*\d+\.\d+\]\s?")
KTAP_CASE = re.compile(r"^\s{4,}(not ok|ok) \d+ (.*?)(?:\s+#\s*(SKIP.*))?$")
KTAP_SUITE = re.compile(r"^(not ok|ok) \d+ (\S+)")
TAP = re.compile(r"^\[([A-Za-z][^\]]*)\] (not ok|ok) \d+ (.*?)(?:\s+#\s*(SKIP.*))?$")
EXIT = re.compile(r"^\[([A-Za-z][^\]]*)\] exit=(\d+)$")
SPLAT = re.compile(
    r"(BUG: |WARNING: |Oops|general protection fault|kernel BUG at|Kernel panic|"
    r"KASAN|UBSAN|possible circular locking|possible recursive locking|"
    r"inconsistent lock state|suspicious RCU usage|sleeping function called from invalid|"
    r"unreferenced object 0x|INFO: task .* blocked|list_add corruption|list_del corruption|"
    r"refcount_t: |Unable to handle kernel|simulator: .* never|could not be taken back|"
    r"kmemleak: .*(disabled|failed)|Kernel memory leak detector disabled)"
)
# What the whole console is searched for, inside the dumps or not.
CONSOLE = re.compile(
    r"(Kernel panic|BUG: |kernel BUG at|Oops|general protection fault|Out of memory|"
    r"invoked oom-killer|oom-kill:|soft lockup|hard LOCKUP|rcu: INFO: .* stall|"
    r"INFO: task .* blocked for more than|blocked for more than \d+ seconds)"
)
# A test program's own output line ("[name] ..."), not the kernel's...
PROGRAM_LINE = re.compile(r"^\[[A-Za-z][^\]]*\] ")
# ...unless a kernel line printed in the middle of it (a timestamp, then a pattern).
KERNEL_INSIDE = re.compile(r"\[\s*\d+\.\d+\]\s*" + CONSOLE.pattern)
SCRIPT_END = "MSHV-SCRIPT-END"


class Results:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def add(self, verdict, name):
        print(f"{verdict} {name}")
        if verdict == "PASS":
            self.passed += 1
        elif verdict == "FAIL":
            self.failed += 1
        else:
            self.skipped += 1


def sections(lines, begin, end):
    """Yields (tag, lines) for every begin/end marked section."""
    cur = None
    tag = None
    for line in lines:
        if line.startswith(begin):
            tag = line[len(begin):].strip() or begin.split("-")[1].lower()
            cur = []
        elif line.startswith(end) and cur is not None:
            yield tag, cur
            cur = None
        elif cur is not None:
            cur.append(line)
    if cur is not None:
        yield tag, cur


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--host-results")
    ap.add_argument("--timed-out", action="store_true")
    ap.add_argument("--floor", type=int, default=0,
                    help="the fewest passes a complete run has (tests/result-floor)")
    args = ap.parse_args()
    res = Results()

    if args.host_results:
        with open(args.host_results) as f:
            for line in f:
                verdict, _, name = line.strip().partition(" ")
                if verdict in ("PASS", "FAIL", "SKIP"):
                    res.add(verdict, name)

    try:
        with open(args.log, errors="replace") as f:
            lines = [l.rstrip("\r\n") for l in f]
    except FileNotFoundError:
        lines = []

    # An empty or missing log is a guest that never ran: judged, never skipped.
    judge_guest(lines, res, args.timed_out)

    # Passes, not results: a run whose tests all skip has not tested anything.
    if res.passed < args.floor:
        res.add("FAIL", f"results: {res.passed} passed, fewer than the floor of {args.floor} "
                "(a test program stopped reporting or skipped; tests/result-floor)")

    summary = f"{res.passed} passed, {res.failed} failed"
    if res.skipped:
        summary += f", {res.skipped} skipped"
    print(summary)
    return 1 if res.failed else 0


def judge_guest(lines, res, timed_out):
    if timed_out:
        res.add("FAIL", "guest: QEMU timed out")
    begun = any(l.startswith("MSHV-GUEST-BEGIN") for l in lines)
    # The script's own last line: the guest's end marker alone is printed by init even when
    # the script was killed.
    ended = any(l.startswith(SCRIPT_END) for l in lines)
    if not ended:
        tail = [l for l in lines if l.strip()][-15:]
        print("guest log tail:\n  " + "\n  ".join(tail), file=sys.stderr)
        why = "" if begun else " (never started)"
        if begun and any(l.startswith("MSHV-GUEST-END") for l in lines):
            why = " (the guest ended, but the test script did not finish)"
        res.add("FAIL", "guest: the test script reached its end" + why)

    # KUnit: the cases of the first load of the simulator build.
    kunit = [
        TIMESTAMP.sub("", l) for tag, sec in sections(lines, "MSHV-DMESG-BEGIN", "MSHV-DMESG-END")
        if tag == "kunit" for l in sec
    ]
    suite = None
    cases = 0
    suite_failed_cases = 0
    for l in kunit:
        m = re.match(r"^\s+# Subtest: (\S+)", l)
        if m:
            suite = m.group(1)
            suite_failed_cases = 0
            continue
        m = KTAP_CASE.match(l)
        if m:
            cases += 1
            verdict = "SKIP" if m.group(3) else ("PASS" if m.group(1) == "ok" else "FAIL")
            suite_failed_cases += verdict == "FAIL"
            res.add(verdict, f"kunit: {suite}.{m.group(2)}")
            continue
        m = KTAP_SUITE.match(l)
        if m and m.group(1) == "not ok" and not suite_failed_cases:
            res.add("FAIL", f"kunit: suite {m.group(2)}")
    if begun and ended and cases == 0:
        res.add("FAIL", "kunit: no results (did the simulator build load?)")

    # Guest test programs.
    failures = {}
    counted = {}
    for l in lines:
        m = TAP.match(l)
        if m:
            prog, status, desc, skip = m.groups()
            verdict = "SKIP" if skip else ("PASS" if status == "ok" else "FAIL")
            counted[prog] = counted.get(prog, 0) + 1
            failures[prog] = failures.get(prog, 0) + (verdict == "FAIL")
            res.add(verdict, f"{prog}: {desc}")
            continue
        m = EXIT.match(l)
        if m:
            prog, rc = m.group(1), int(m.group(2))
            if rc == 4 and not counted.get(prog):
                res.add("SKIP", f"{prog}: skipped")
            elif rc not in (0, 4) and not failures.get(prog):
                res.add("FAIL", f"{prog}: exit status {rc}")
            elif rc == 0 and not counted.get(prog):
                res.add("PASS", f"{prog}")

    # Splats in any kernel log dump, and kmemleak's report.
    dumps = list(sections(lines, "MSHV-DMESG-BEGIN", "MSHV-DMESG-END"))
    dumps += list(sections(lines, "MSHV-KMEMLEAK-BEGIN", "MSHV-KMEMLEAK-END"))
    splats = 0
    seen = set()
    for tag, sec in dumps:
        for l in sec:
            if SPLAT.search(l):
                splats += 1
                text = TIMESTAMP.sub("", l).strip()
                seen.add(text)
                res.add("FAIL", f"kernel log ({tag}): {text}")
    # The whole console: what the kernel printed as it happened, dumped later or never (a
    # panic ends the guest first). Test programs' own lines are theirs, not the kernel's.
    for l in lines:
        if PROGRAM_LINE.match(l) and not KERNEL_INSIDE.search(l):
            continue
        if not CONSOLE.search(l):
            continue
        text = TIMESTAMP.sub("", l).strip()
        if text not in seen:
            seen.add(text)
            splats += 1
            res.add("FAIL", f"console: {text}")
    kmemleak = any(l.startswith("MSHV-KMEMLEAK-END") for l in lines)
    if any(l.startswith("MSHV-KMEMLEAK-MISSING") for l in lines):
        res.add("FAIL", "kmemleak: not available in the guest")
    elif begun and not kmemleak:
        res.add("FAIL", "kmemleak: no scan in the log")
    elif ended and not splats:
        res.add("PASS", "kernel log: no splats, no leaks")


if __name__ == "__main__":
    sys.exit(main())
