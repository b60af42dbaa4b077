# shellcheck shell=bash
# Helpers shared by the scripts: logging and apt with a private configuration.
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

log() { printf '%s: %s\n' "$(basename "$0" .sh)" "$*" >&2; }

missing_packages() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			echo "$p"
	done
}

apt_updated=
apt_update_once() {
	[ -n "$apt_updated" ] && return
	log "apt-get update"
	apt-get update -qq
	apt_updated=1
}

# The Debian mirror this machine already uses (never hard-coded here).
debian_mirror() {
	if [ -n "${MSHV_DEBIAN_MIRROR:-}" ]; then
		echo "$MSHV_DEBIAN_MIRROR"
		return
	fi
	apt-get indextargets --format '$(REPO_URI)' 2>/dev/null |
		grep -v -- '-security' | sort -u | head -n 1
}

# private_apt NAME SUITES... -- APT-GET-ARGS...
# Runs apt-get against a sources list of our own (lists and cache under $MSHV_CACHE), so the
# machine's configuration is never touched.
private_apt() {
	local name=$1
	shift
	local suites=()
	while [ "$1" != "--" ]; do
		suites+=("$1")
		shift
	done
	shift
	local dir=$MSHV_CACHE/apt-$name mirror
	mirror=$(debian_mirror)
	if [ -z "$mirror" ]; then
		log "cannot find the machine's Debian mirror in its apt configuration;"
		log "set MSHV_DEBIAN_MIRROR to the URL of a Debian archive"
		exit 1
	fi
	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
	: >"$dir/sources.list"
	local s
	for s in "${suites[@]}"; do
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $s main" \
			>>"$dir/sources.list"
	done
	apt-get -q -o APT::Sandbox::User=root \
		-o Dir::Etc::SourceList="$dir/sources.list" \
		-o Dir::Etc::SourceParts=/nonexistent \
		-o Dir::State::Lists="$dir/lists" \
		-o Dir::Cache="$dir/cache" \
		"$@"
}

