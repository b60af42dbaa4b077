#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The judge judged: doctored guest logs that must fail, and the good one they come from, which
must pass. Run by `make check` on the host (scripts/testbed.sh).

Each case takes a complete, passing log and changes one thing a broken run would change: the
test script killed half way (the guest's end marker still printed by init), a panic, an OOM kill,
a hung task or a soft lockup on the console outside any kernel log dump, the kmemleak section
gone, a test program that stopped reporting (fewer results than the floor).
"""

import os
import subprocess
import sys
import tempfile
import unittest

JUDGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "parse-log.py")

GOOD = """\
MSHV-GUEST-BEGIN check
MSHV-DMESG-BEGIN boot
[    1.000000] booted
MSHV-DMESG-END boot
[insmod_sim] exit=0
MSHV-DMESG-BEGIN kunit
[    2.000000]     KTAP version 1
[    2.000000]     # Subtest: mshv_caps
[    2.000000]     ok 1 ids_and_names_are_unique
[    2.000000]     ok 2 answers_are_positive_ints
[    2.000000] ok 1 mshv_caps
MSHV-DMESG-END kunit
[partition_test] TAP version 13
[partition_test] ok 1 create
[partition_test] ok 2 destroy
[partition_test] exit=0
[memory_test] TAP version 13
[memory_test] ok 1 map
[memory_test] ok 2 unmap
[memory_test] exit=0
MSHV-DMESG-BEGIN kselftest
[    9.000000] mshv: unloaded
MSHV-DMESG-END kselftest
MSHV-KMEMLEAK-BEGIN
MSHV-KMEMLEAK-END
MSHV-DMESG-BEGIN end
MSHV-DMESG-END end
MSHV-SCRIPT-END check
MSHV-GUEST-END rc=0
"""

# Results in GOOD: 2 KUnit cases, insmod_sim, 4 program results, "no splats, no leaks".
GOOD_RESULTS = 8


def judge(log, floor=GOOD_RESULTS):
    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as f:
        f.write(log)
        path = f.name
    try:
        r = subprocess.run([sys.executable, JUDGE, "--floor", str(floor), path],
                           capture_output=True, text=True)
    finally:
        os.unlink(path)
    return r.returncode, r.stdout


def before(log, marker, text):
    """`log` with `text` inserted before the line starting with `marker`."""
    i = log.index(marker)
    return log[:i] + text + log[i:]


class Judge(unittest.TestCase):
    def assertFails(self, log, why, **kw):
        rc, out = judge(log, **kw)
        self.assertNotEqual(rc, 0, f"passed: {out}")
        self.assertIn(why, out)
        self.assertRegex(out.splitlines()[-1], r"^\d+ passed, [1-9]\d* failed")

    def test_good_log_passes(self):
        rc, out = judge(GOOD)
        self.assertEqual(rc, 0, out)
        self.assertEqual(out.splitlines()[-1], f"{GOOD_RESULTS} passed, 0 failed")

    def test_script_killed_half_way(self):
        # The OOM killer (say) killed the script: the programs after it never ran, nothing
        # after it was printed, but init still printed the guest's end marker.
        i = GOOD.index("[memory_test] TAP")
        log = GOOD[:i] + "Killed\nMSHV-GUEST-END rc=137\n"
        self.assertFails(log, "the test script did not finish")

    def test_panic_on_the_console_outside_dumps(self):
        log = before(GOOD, "[memory_test] exit",
                     "[    5.000000] Kernel panic - not syncing: System is deadlocked on memory\n")
        self.assertFails(log, "console: Kernel panic")

    def test_oom_kill_on_the_console(self):
        log = before(GOOD, "[memory_test] exit",
                     "[    5.000000] Out of memory: Killed process 123 (memory_test)\n")
        self.assertFails(log, "console: Out of memory")

    def test_hung_task_on_the_console(self):
        log = before(GOOD, "MSHV-KMEMLEAK-BEGIN",
                     "[   90.000000] INFO: task run_vp_test:77 blocked for more than 20 seconds.\n")
        self.assertFails(log, "blocked for more than")

    def test_soft_lockup_on_the_console(self):
        log = before(GOOD, "MSHV-KMEMLEAK-BEGIN",
                     "[   60.000000] watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [fuzz:9]\n")
        self.assertFails(log, "soft lockup")

    def test_splat_in_a_dump_counts_once(self):
        line = "[    9.100000] BUG: KASAN: slab-use-after-free in foo+0x1/0x2\n"
        # Printed on the console as it happened and again in the dump: one failure.
        log = before(GOOD, "MSHV-DMESG-BEGIN kselftest", line)
        log = before(log, "MSHV-DMESG-END kselftest", line)
        rc, out = judge(log)
        self.assertNotEqual(rc, 0)
        self.assertEqual(out.count("KASAN"), 1, out)

    def test_program_output_is_not_the_kernel(self):
        # A test program may print the words; its lines carry its name.
        log = before(GOOD, "[memory_test] exit", "[memory_test] # no Oops here, no BUG: either\n")
        rc, out = judge(log)
        self.assertEqual(rc, 0, out)

    def test_kmemleak_section_missing(self):
        log = GOOD.replace("MSHV-KMEMLEAK-BEGIN\nMSHV-KMEMLEAK-END\n", "")
        self.assertFails(log, "kmemleak: no scan in the log")

    def test_kmemleak_report(self):
        log = GOOD.replace("MSHV-KMEMLEAK-BEGIN\n", "MSHV-KMEMLEAK-BEGIN\n"
                           "unreferenced object 0xffff888001234000 (size 64):\n")
        self.assertFails(log, "unreferenced object")

    def test_program_stopped_reporting(self):
        # memory_test's results are gone (it no longer ran, say): below the floor.
        log = "".join(l for l in GOOD.splitlines(keepends=True)
                      if not l.startswith("[memory_test]"))
        self.assertFails(log, "fewer than the floor")

    def test_program_crashed(self):
        log = GOOD.replace("[memory_test] exit=0", "[memory_test] exit=139")
        self.assertFails(log, "memory_test: exit status 139")

    def test_never_started(self):
        self.assertFails("", "never started", floor=0)

    def test_kernel_line_inside_a_program_line(self):
        log = before(GOOD, "[memory_test] exit",
                     "[memory_test] ok 3 x[    5.000000] Out of memory: Killed process 9 (t)\n")
        self.assertFails(log, "console:", floor=0)

    def test_kmemleak_disabled(self):
        log = GOOD.replace("MSHV-KMEMLEAK-BEGIN\n", "MSHV-KMEMLEAK-BEGIN\n"
                           "[   99.000000] kmemleak: Kernel memory leak detector disabled\n")
        self.assertFails(log, "kmemleak")

    def test_everything_skipped(self):
        log = GOOD.replace("[partition_test] ok 1 create", "[partition_test] ok 1 create # SKIP x")
        log = log.replace("[partition_test] ok 2 destroy", "[partition_test] ok 2 destroy # SKIP x")
        self.assertFails(log, "fewer than the floor")


if __name__ == "__main__":
    unittest.main(verbosity=2)
