#!/usr/bin/env bash
# Cross-file checks the compilers cannot make: every macro of the uapi header has its C value
# in glue/uapi_check.c (compared with the Rust mirror by KUnit), its Rust mirror, and its
# documentation; every capability has its name in the tools' table; every `unsafe` block has a
# SAFETY comment.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
fail() {
	echo "lint: $*"
	status=1
}

macros=$(sed -n 's/^#define \(MSHV_[A-Z0-9_]*\).*/\1/p' uapi/linux/mshv.h)
for m in $macros; do
	grep -q "C($m)" glue/uapi_check.c || fail "$m is not in glue/uapi_check.c"
	grep -q "\"$m\"," abi/uapi.rs || fail "$m has no Rust mirror in abi/uapi.rs CONSTANTS"
	grep -q "\b$m\b" Documentation/mshv.rst || fail "$m is not documented in Documentation/mshv.rst"
done
for c in $(echo "$macros" | sed -n 's/^MSHV_CAP_//p'); do
	grep -q "MSHV_CAP_NAME($c)" tools/mshv_cap_names.h || fail "MSHV_CAP_$c is not in tools/mshv_cap_names.h"
done
for n in $(sed -n 's/.*name: "\(MSHV_CAP_[A-Z0-9_]*\)".*/\1/p' mshv_caps.rs); do
	grep -qx "$n" <<<"$macros" || fail "capability $n of mshv_caps.rs is not in the header"
done

# A `// SAFETY:` comment block must end right above each `unsafe {` (or share its line).
missing=$(git ls-files '*.rs' | xargs awk '
	FNR == 1 { safety = 0 }
	/unsafe[[:space:]]*\{/ && !safety && $0 !~ /SAFETY:/ { printf "%s:%d\n", FILENAME, FNR }
	/^[[:space:]]*$/ { next }
	/SAFETY:/ { safety = 1; next }
	/^[[:space:]]*\/\// { next }
	{ safety = 0 }')
[ -z "$missing" ] || fail "unsafe blocks without a SAFETY comment: $missing"

exit $status
