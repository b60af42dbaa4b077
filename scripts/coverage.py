#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The driver's function coverage, from the KCOV data of a `make check` run.

The guest prints the module PCs its test programs and the fuzzer reached (tests/lib/kcov.c,
tests/guest/run-check.sh) as "<section> <offset>" lines between MSHV-KCOV-BEGIN and
MSHV-KCOV-END. The simulator build's mshv.ko (with debug information) says which code each PC
belongs to: every call to __sanitizer_cov_trace_pc is a PC KCOV can report, and the debug
information names the function it is in and every function inlined there. A function is
counted once however often it was inlined; it is reached when a PC of any of its copies was.

The driver's functions are those of the crate (mshv_main::...) and of its C glue, less the
simulated hypervisor, the KUnit suites, and the kernel crate's generics instantiated here; the
module's init and exit code (run by insmod and rmmod) is in their own sections and is not
counted.

Prints the share reached and every function never reached; with --result, appends a
"PASS name" / "FAIL name" line for the judge: the share must not fall below the floor kept in
tests/coverage-floor.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

GOAL = 85.0
# The crate is named after its root file.
CRATE = "mshv_main"
# The C glue; glue/uapi_check.c holds the header's values for KUnit. glue/synic.c is left out:
# its vector handler runs in hard-IRQ context and its irq_works are the simulator's, which no
# KCOV trace sees (the SynIC handling it queues, and the CPU hotplug callbacks, are traced
# remotely, as the irqfd injection is).
GLUE = ("glue/helpers.c", "glue/irqfd.c", "glue/region.c")


def readelf(tool, ko, *args):
    return subprocess.run([tool, "-W", *args, ko], check=True, capture_output=True,
                          text=True).stdout


def text_functions(tool, ko):
    """(start, size, mangled name) of the functions in .text."""
    secs = {}
    for m in re.finditer(r"^\s*\[\s*(\d+)\]\s+(\S+)", readelf(tool, ko, "-S"), re.M):
        secs[int(m.group(1))] = m.group(2)
    out = []
    for line in readelf(tool, ko, "-s").splitlines():
        f = line.split()
        if len(f) < 8 or f[3] != "FUNC" or not f[6].isdigit():
            continue
        if secs.get(int(f[6])) == ".text" and int(f[2]):
            out.append((int(f[1], 16), int(f[2]), f[7]))
    return sorted(out)


def trace_pcs(tool, ko):
    """The PCs KCOV can report in .text: the return address of each trace call."""
    out = []
    sec = None
    for line in readelf(tool, ko, "-r").splitlines():
        m = re.match(r"Relocation section '\.rela(\S+)'", line)
        if m:
            sec = m.group(1)
            continue
        f = line.split()
        if sec == ".text" and len(f) >= 5 and f[4].startswith("__sanitizer_cov_trace_pc"):
            # The relocation is the call's 4-byte operand; the call returns past it.
            out.append(int(f[0], 16) + 4)
    return sorted(out)


def run(cmd, text):
    return subprocess.run(cmd, input=text, capture_output=True, text=True,
                          check=True).stdout


def frames(symbolizer, objcopy, ko, pcs):
    """For each .text PC, its frames as (function, file), innermost first."""
    # In a relocatable object every section starts at 0: the module's init and exit code
    # would answer for the first bytes of .text. They are moved out of the way first.
    with tempfile.TemporaryDirectory() as tmp:
        moved = os.path.join(tmp, "mshv.ko")
        subprocess.run([objcopy, "--change-section-address", ".init.text=0x40000000",
                        "--change-section-address", ".exit.text=0x50000000", ko, moved],
                       check=True, capture_output=True)
        # The PC is past the call: its own code is the byte before.
        out = run([symbolizer, "--inlines", f"--obj={moved}"],
                  "".join(f"0x{pc - 1:x}\n" for pc in pcs))
    result = []
    for block in out.strip("\n").split("\n\n"):
        lines = block.split("\n")
        result.append([(lines[i], lines[i + 1].rsplit(":", 2)[0])
                       for i in range(0, len(lines) - 1, 2)])
    if len(result) != len(pcs):
        raise RuntimeError(f"{len(pcs)} PCs, but {len(result)} answers from {symbolizer}")
    return result


def is_driver(name, path):
    """Whether a function is the driver's: the crate's own, or the C glue's."""
    if "::" not in name and "<" not in name:
        return path.endswith(GLUE)
    # The simulator, and the KUnit suites (tests, sim_tests: they run in KUnit's own thread,
    # which no trace sees).
    if f"{CRATE}::hvsim" in name or re.search(r"::\w*tests::", name) or "kunit" in name:
        return False
    return (name.startswith(f"{CRATE}::") or name.startswith(f"<{CRATE}::")
            or re.search(f" as {CRATE}::", name) is not None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--ko", required=True, help="the simulator build's mshv.ko, with debug info")
    ap.add_argument("--readelf", default="llvm-readelf-22")
    ap.add_argument("--symbolizer", default="llvm-symbolizer-22")
    ap.add_argument("--demangler", default="llvm-cxxfilt-22")
    ap.add_argument("--objcopy", default="llvm-objcopy-22")
    ap.add_argument("--floor", type=float, default=0.0)
    ap.add_argument("--result", help="append the verdict to this host results file")
    args = ap.parse_args()

    reached = set()
    inside = False
    with open(args.log, errors="replace") as f:
        for line in f:
            if line.startswith("MSHV-KCOV-BEGIN"):
                inside = True
            elif line.startswith("MSHV-KCOV-END"):
                inside = False
            elif inside:
                p = line.split()
                if len(p) == 2 and p[0] == ".text":
                    reached.add(int(p[1], 16))

    pcs = trace_pcs(args.readelf, args.ko)
    funcs = text_functions(args.readelf, args.ko)
    names = run([args.demangler], "\n".join(f[2] for f in funcs) + "\n").splitlines()
    # The outermost frame is named from the symbol table, which a relocatable object makes
    # ambiguous: the function symbol that holds the PC names it.
    owner = {}
    i = 0
    for pc in pcs:
        while i + 1 < len(funcs) and funcs[i + 1][0] < pc:
            i += 1
        start, size, _ = funcs[i]
        if start < pc <= start + size:
            owner[pc] = names[i]
    driver, hit = set(), set()
    for pc, fr in zip(pcs, frames(args.symbolizer, args.objcopy, args.ko, pcs)):
        if not fr:
            continue
        if pc in owner:
            fr[-1] = (owner[pc], fr[-1][1])
        for name, path in fr:
            if is_driver(name, path):
                driver.add(name)
                if pc in reached:
                    hit.add(name)

    total = len(driver)
    share = 100.0 * len(hit) / total if total else 0.0
    missed = sorted(driver - hit)
    verdict = "PASS" if total and share >= args.floor else "FAIL"
    print(f"coverage: the tests reached {len(hit)} of the driver's {total} functions "
          f"({share:.1f}%; goal {GOAL:.0f}%, floor {args.floor:.1f}%); "
          f"{len(reached & set(pcs))} of the module's {len(pcs)} PCs")
    if missed:
        print(f"coverage: never reached ({len(missed)}):")
        for n in missed:
            print(f"  {n}")
    if args.result:
        with open(args.result, "a") as f:
            f.write(f"{verdict} coverage: {share:.1f}% of the driver's functions reached "
                    f"(floor {args.floor:.1f}%)\n")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # a crash is a failed figure, never a missing one
        print(f"coverage: cannot compute the figure: {e}", file=sys.stderr)
        if "--result" in sys.argv:
            with open(sys.argv[sys.argv.index("--result") + 1], "a") as f:
                f.write(f"FAIL coverage: cannot compute the figure ({e})\n")
        sys.exit(1)
