#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The driver's function coverage, from the KCOV data of a `make check` run.

The guest prints the module PCs its test programs and the fuzzer reached (tests/lib/kcov.c,
tests/guest/run-check.sh) as "<section> <offset>" lines between MSHV-KCOV-BEGIN and
MSHV-KCOV-END. The simulator build's mshv.ko says where its functions are and which of them
KCOV instruments (a call to __sanitizer_cov_trace_pc). The driver's functions are the
instrumented functions of the mshv crate and of its C glue, less the simulated hypervisor, the
KUnit suites and the kernel crate's generics instantiated here. A function is reached when a PC
inside it was.

Prints the share reached and every function never reached; with --result, appends a
"PASS name" / "FAIL name" line for the judge: the share must not fall below the floor kept in
tests/coverage-floor.
"""

import argparse
import re
import subprocess
import sys

GOAL = 85.0


def readelf(tool, ko, *args):
    return subprocess.run([tool, "-W", *args, ko], check=True, capture_output=True,
                          text=True).stdout


def sections(tool, ko):
    """Section index -> name."""
    out = {}
    for m in re.finditer(r"^\s*\[\s*(\d+)\]\s+(\S+)", readelf(tool, ko, "-S"), re.M):
        out[int(m.group(1))] = m.group(2)
    return out


def functions(tool, ko, secs):
    """(section, start, size, name) of every function with a size."""
    out = []
    for line in readelf(tool, ko, "-s").splitlines():
        f = line.split()
        if len(f) < 8 or f[3] != "FUNC" or not f[6].isdigit():
            continue
        size = int(f[2], 0) if f[2].startswith("0x") else int(f[2])
        if size:
            out.append((secs[int(f[6])], int(f[1], 16), size, f[7]))
    return out


def trace_calls(tool, ko):
    """Section -> offsets of the calls to __sanitizer_cov_trace_pc (their relocations)."""
    out = {}
    sec = None
    for line in readelf(tool, ko, "-r").splitlines():
        m = re.match(r"Relocation section '\.rela(\S+)'", line)
        if m:
            sec = m.group(1)
            continue
        f = line.split()
        if sec and len(f) >= 5 and f[4].startswith("__sanitizer_cov_trace_pc"):
            out.setdefault(sec, []).append(int(f[0], 16))
    return out


def demangle(tool, names):
    r = subprocess.run([tool], input="\n".join(names), capture_output=True, text=True,
                       check=True)
    return r.stdout.splitlines()


# The crate is named after its root file.
CRATE = "mshv_main"


def is_driver(mangled, name):
    """Whether a function is the driver's: the crate's own, or the C glue's."""
    if not mangled.startswith("_R"):
        # C: the glue files. The KUnit values of the uapi header are the tests'; what the
        # compiler adds (KASAN's constructors) is nobody's.
        return not re.match(r"(mshv_uapi_check|__|asan\.|kcov)", mangled)
    if f"{CRATE}::hvsim" in name or "::tests::" in name or "kunit" in name:
        return False
    return (name.startswith(f"{CRATE}::") or name.startswith(f"<{CRATE}::")
            or re.search(f" as {CRATE}::", name) is not None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--ko", required=True, help="the simulator build's mshv.ko")
    ap.add_argument("--readelf", default="llvm-readelf-22")
    ap.add_argument("--demangler", default="llvm-cxxfilt-22")
    ap.add_argument("--floor", type=float, default=0.0)
    ap.add_argument("--result", help="append the verdict to this host results file")
    args = ap.parse_args()

    reached = {}
    inside = False
    with open(args.log, errors="replace") as f:
        for line in f:
            if line.startswith("MSHV-KCOV-BEGIN"):
                inside = True
            elif line.startswith("MSHV-KCOV-END"):
                inside = False
            elif inside:
                p = line.split()
                if len(p) == 2:
                    reached.setdefault(p[0], set()).add(int(p[1], 16))

    secs = sections(args.readelf, args.ko)
    calls = trace_calls(args.readelf, args.ko)
    funcs = functions(args.readelf, args.ko, secs)
    names = demangle(args.demangler, [f[3] for f in funcs])
    driver = []
    for (sec, start, size, mangled), name in zip(funcs, names):
        # Module init and exit run in insmod and rmmod, which are not traced.
        if sec in (".init.text", ".exit.text") or mangled in ("init_module", "cleanup_module"):
            continue
        # Instrumented: a trace call inside it (a function without one cannot be seen).
        if not any(start <= off < start + size for off in calls.get(sec, ())):
            continue
        if not is_driver(mangled, name):
            continue
        # A PC is a return address: past its call, at most the function's end.
        hit = any(start < pc <= start + size for pc in reached.get(sec, ()))
        driver.append((name, hit))

    total = len(driver)
    hit = sum(1 for _, h in driver if h)
    share = 100.0 * hit / total if total else 0.0
    missed = sorted({n for n, h in driver if not h})
    verdict = "PASS" if total and share >= args.floor else "FAIL"
    print(f"coverage: the tests reached {hit} of the driver's {total} functions "
          f"({share:.1f}%; goal {GOAL:.0f}%, floor {args.floor:.1f}%), from "
          f"{sum(len(v) for v in reached.values())} module PCs")
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
    sys.exit(main())
