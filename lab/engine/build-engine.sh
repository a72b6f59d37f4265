#!/usr/bin/env bash
# Build the Pulumi engine binaries from Go modules (Go module proxy only) and
# cache them by version under /var/cache/kvm-cloud/engine/<name>-<version>/.
#
#   bash lab/engine/build-engine.sh        # builds what is missing, links bin/
#
# Idempotent: a component whose binary and build stamp are already in place is
# not rebuilt (a warm run only checks stamps and prints versions).
# Nothing is written inside the repository: wrapper modules live under
# /var/cache/kvm-cloud/build/, GOMODCACHE/GOCACHE stay at go's defaults.
#
# Env knobs:
#   ENGINE_STRICT=1   also fail when the optional language host is not served
#                     by the module proxy.
#   ENGINE_FORCE=1    rebuild even when a stamp matches.
set -Eeuo pipefail

# ---------------------------------------------------------------- versions --
# The CLI matches the @pulumi/pulumi the project locks (package-lock.json).
LOCK="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/package-lock.json"
PULUMI_VERSION=${PULUMI_VERSION:-$(node -p 'require(process.argv[1]).packages["node_modules/@pulumi/pulumi"].version' "$LOCK")}
PULUMI_MOD_VERSION="v${PULUMI_VERSION}"      # pkg/v3 and sdk/v3 module version

# pulumi-language-nodejs lives in its own untagged module; it is only reachable
# by the pseudo-version of the release commit. Leave empty while the proxy
# serves no version of it (see NOTES at the bottom); the CLI still works with
# Automation API inline programs.
LANG_NODEJS_MODULE=github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3
LANG_NODEJS_MOD_VERSION=""                   # e.g. v3.0.0-YYYYMMDDhhmmss-<12 hex of v3.276.0 commit>

# No command provider: components run their scripts through kvm-cloud's own
# RemoteCommand dynamic provider (README "The Pulumi engine"), because the proxy
# refuses github.com/pulumi/pulumi-command/provider at every version
# (v0.0.0-20260303235922-7f3eb6f3b77c, the v1.2.1 commit: 403 "This module
# version is not available"; @latest and the version list: 403 too).

GO_FALLBACK_TOOLCHAIN=go1.27.3               # the approved toolchain if a module needs Go > local

# ------------------------------------------------------------------ layout --
CACHE_ROOT=/var/cache/kvm-cloud
ENGINE_DIR="$CACHE_ROOT/engine"
BUILD_ROOT="$CACHE_ROOT/build"
BIN_DIR="$ENGINE_DIR/bin"

BUILD_TAGS=osusergo,grpcnotrace
PULUMI_VERSION_PKG=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version

export PATH="/usr/local/go/bin:$PATH"
export CGO_ENABLED=0
export PULUMI_SKIP_UPDATE_CHECK=1

# ----------------------------------------------------------------- helpers --
T_START=$(date +%s.%N)
log()  { printf '[build-engine %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
warn() { printf '[build-engine %s] WARNING: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die()  { printf '[build-engine %s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1fs", b-a}'; }
trap 'rc=$?; printf "[build-engine] FAILED (exit %s) at line %s: %s\n" "$rc" "$LINENO" "$BASH_COMMAND" >&2' ERR

command -v go >/dev/null || die "go not found (expected /usr/local/go/bin/go)"
GO_LOCAL_VERSION=$(go env GOVERSION)          # e.g. go1.26.8
GO_LOCAL_VERSION=${GO_LOCAL_VERSION#go}

# version_gt A B: true when Go version A > B (1.26.6 vs 1.26.8, 1.27 vs 1.26.8)
version_gt() { [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -n1)" = "$1" ]; }

# need_go VERSION: switch to the approved toolchain if the local Go is too old.
need_go() {
	local want=$1
	if version_gt "$want" "$GO_LOCAL_VERSION" && [ "${GOTOOLCHAIN:-local}" = local ]; then
		log "a module needs go >= $want (local go $GO_LOCAL_VERSION): export GOTOOLCHAIN=$GO_FALLBACK_TOOLCHAIN"
		export GOTOOLCHAIN=$GO_FALLBACK_TOOLCHAIN
	fi
}

# gocmd LOGFILE ARGS...: run `go ARGS` in the current dir, output to LOGFILE;
# on failure show the exact go error (download chatter filtered) and exit.
# Retries once with the approved toolchain if go says a module needs newer Go.
gocmd() {
	local logf=$1; shift
	printf '\n$ go %s\n' "$*" >>"$logf"
	if go "$@" >>"$logf.cur" 2>&1; then
		cat "$logf.cur" >>"$logf"; rm -f "$logf.cur"; return 0
	fi
	cat "$logf.cur" >>"$logf"
	local need
	need=$(grep -oE 'requires go >= ?[0-9][0-9.]*' "$logf.cur" | grep -oE '[0-9][0-9.]*$' | sort -V | tail -n1 || true)
	rm -f "$logf.cur"
	if [ -n "$need" ] && [ "${GOTOOLCHAIN:-local}" = local ]; then
		need_go "$need"
		gocmd "$logf" "$@"; return
	fi
	echo "---- go $* failed in $PWD; go said:" >&2
	awk '/^\$ go /{blk=""} {blk=blk $0 "\n"} END{printf "%s", blk}' "$logf" | grep -v '^go: downloading ' >&2
	echo "---- (full log: $logf)" >&2
	return 1
}

# go directive of a go.mod file
gomod_go() { awk '$1=="go"{print $2; exit}' "$1"; }

# Third-party (versioned) replace directives of a go.mod, one "old[@v]=new@v" a line.
# Local-path replaces (../sdk, ./x, /abs) are dropped: they only make sense in pulumi's repo.
gomod_replaces() {
	awk '
		function emit(s,   n, f, i, arrow, lhs, rhs) {
			sub(/\/\/.*/, "", s); n = split(s, f, /[ \t]+/)
			arrow = 0; lhs = ""; rhs = ""
			for (i = 1; i <= n; i++) {
				if (f[i] == "") continue
				if (f[i] == "=>") { arrow = 1; continue }
				if (!arrow) lhs = lhs (lhs == "" ? "" : "@") f[i]
				else        rhs = rhs (rhs == "" ? "" : "@") f[i]
			}
			if (!arrow || rhs !~ /@/) return          # no version => local path
			if (rhs ~ /^(\.|\/)/) return
			print lhs "=" rhs
		}
		/^replace[ \t]*\(/ { inblk = 1; next }
		inblk && /^\)/     { inblk = 0; next }
		inblk              { emit($0); next }
		/^replace[ \t]/    { s = $0; sub(/^replace[ \t]+/, "", s); emit(s) }
	' "$1"
}

# mod_download MOD@VER -> prints the path of its go.mod in the module cache
mod_download() {
	local mv=$1 logf=$2 json gomod
	gocmd "$logf" mod download -json "$mv" || return 1
	json=$(awk '/^\$ go mod download -json /{blk=""} {blk=blk $0 "\n"} END{printf "%s", blk}' "$logf")
	gomod=$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p' | head -n1)
	[ -n "$gomod" ] && [ -f "$gomod" ] || { echo "no GoMod in: $json" >&2; return 1; }
	printf '%s\n' "$gomod"
}

# measure_start: remember cache sizes once, before the first real download
MEASURE=""
measure_start() {
	[ -z "$MEASURE" ] || return 0
	MEASURE=1
	MOD_BEFORE=$(du -sk "$MODCACHE" 2>/dev/null | cut -f1 || echo 0)
	GOC_BEFORE=$(du -sk "$GOCACHE_DIR" 2>/dev/null | cut -f1 || echo 0)
}

# build_component NAME VERSION MAIN_PKG BIN LDFLAGS REQS... (REQS: mod@ver; the
# first one is the module holding MAIN_PKG; its third-party replaces are copied,
# as its own repo build applies them; replaces of the other REQS are ignored,
# exactly as go ignores them for a non-main module).
# Returns 0 built/cached, 2 not served by the proxy, 1 other failure.
# (Called in a `|| rc=$?` context, where set -e is off: every step checks itself.)
BUILT=(); SKIPPED=(); UNAVAILABLE=()
build_component() {
	local name=$1 version=$2 main_pkg=$3 bin=$4 ldflags=$5; shift 5
	local reqs=("$@")
	local out_dir="$ENGINE_DIR/$name-$version" bdir="$BUILD_ROOT/$name-$version"
	local key stamp="$out_dir/.build-stamp"
	key="name=$name version=$version main=$main_pkg reqs=${reqs[*]} tags=$BUILD_TAGS ldflags=$ldflags cgo=0 trimpath"

	if [ -z "${ENGINE_FORCE:-}" ] && [ -x "$out_dir/$bin" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then
		log "$name $version: cached ($out_dir/$bin), nothing to build"
		SKIPPED+=("$name"); ln -sfn "$out_dir/$bin" "$BIN_DIR/$bin"; return 0
	fi

	local t0; t0=$(date +%s.%N)
	log "$name $version: building $main_pkg"
	rm -rf "$bdir" && mkdir -p "$bdir" || return 1
	local logf="$bdir/build.log"; : >"$logf"
	cd "$bdir" || return 1

	# 0. is every required module served? (.info/.mod only: cheap, and says no at once)
	local mv
	for mv in "${reqs[@]}"; do
		log "  step: go list -m -json $mv"
		gocmd "$logf" list -m -json "$mv" || { cd /; return 2; }
	done
	measure_start

	# 1. fetch the required modules and read their go.mod (go directive, replaces)
	local gomod gov maxgo=1.21 replaces=() r first=1
	for mv in "${reqs[@]}"; do
		log "  step: go mod download -json $mv"
		gomod=$(mod_download "$mv" "$logf") || { cd /; return 2; }
		gov=$(gomod_go "$gomod")
		if [ -n "$gov" ] && version_gt "$gov" "$maxgo"; then maxgo=$gov; fi
		if [ -n "$first" ]; then
			while IFS= read -r r; do [ -n "$r" ] && replaces+=("$r"); done < <(gomod_replaces "$gomod")
			first=""
		fi
	done
	need_go "$maxgo"

	# 2. wrapper module: require the exact versions, copy third-party replaces
	log "  step: wrapper module $bdir/go.mod (go $maxgo)"
	printf '// Generated by lab/engine/build-engine.sh: wrapper to build %s.\nmodule kvm-cloud.local/engine-build/%s\n\ngo %s\n' \
		"$main_pkg" "$name" "$maxgo" >go.mod || return 1
	for mv in "${reqs[@]}"; do gocmd "$logf" mod edit -require="$mv" || { cd /; return 1; }; done
	local rep
	for rep in "${replaces[@]}"; do
		log "  replace ${rep%%=*} => ${rep#*=} (copied from ${reqs[0]}'s go.mod)"
		gocmd "$logf" mod edit -replace="$rep" || { cd /; return 1; }
	done

	# 3. resolve the build graph of the main package only (no tidy: no test deps)
	local getargs=("$main_pkg@${reqs[0]#*@}") i got
	for ((i = 1; i < ${#reqs[@]}; i++)); do getargs+=("${reqs[$i]}"); done
	log "  step: go get ${getargs[*]}"
	gocmd "$logf" get "${getargs[@]}" || { cd /; return 1; }
	for mv in "${reqs[@]}"; do   # MVS must not have moved any pinned module
		got=$(go list -m -f '{{.Version}}' "${mv%@*}")
		[ "$got" = "${mv#*@}" ] || { echo "${mv%@*} resolved to '$got', want ${mv#*@}" >&2; cd /; return 1; }
	done

	# 4. build
	log "  step: go build -trimpath -tags $BUILD_TAGS -ldflags '$ldflags' (CGO_ENABLED=0)"
	local tb; tb=$(date +%s.%N)
	mkdir -p "$out_dir" || return 1
	gocmd "$logf" build -mod=mod -trimpath -tags "$BUILD_TAGS" -ldflags "$ldflags" \
		-o "$out_dir/$bin.tmp" "$main_pkg" || { cd /; return 1; }
	mv -f "$out_dir/$bin.tmp" "$out_dir/$bin" && cp go.mod go.sum "$out_dir/" \
		&& printf '%s\n' "$key" >"$stamp" && ln -sfn "$out_dir/$bin" "$BIN_DIR/$bin" || { cd /; return 1; }
	cd /
	log "$name $version: built in $(elapsed "$t0") (go build step $(elapsed "$tb")) -> $out_dir/$bin ($(du -h "$out_dir/$bin" | cut -f1))"
	BUILT+=("$name")
}

# optional NAME RC: handle a component the proxy may not serve
optional() {
	local name=$1 rc=$2
	[ "$rc" = 0 ] && return 0
	if [ "$rc" = 2 ]; then
		UNAVAILABLE+=("$name")
		warn "$name: the Go module proxy does not serve it (exact go error above); skipped"
		[ -z "${ENGINE_STRICT:-}" ] || die "$name unavailable and ENGINE_STRICT is set"
		return 0
	fi
	die "$name: build failed (go error above)"
}

# -------------------------------------------------------------------- main --
mkdir -p "$ENGINE_DIR" "$BUILD_ROOT" "$BIN_DIR"
exec 9>"$ENGINE_DIR/.lock"
flock 9

log "go $GO_LOCAL_VERSION, GOMODCACHE=$(go env GOMODCACHE), GOCACHE=$(go env GOCACHE), GOPROXY=$(go env GOPROXY)"
MODCACHE=$(go env GOMODCACHE); GOCACHE_DIR=$(go env GOCACHE)
PULUMI_LDFLAGS="-s -w -X $PULUMI_VERSION_PKG=v$PULUMI_VERSION"

# 1. pulumi CLI
rc=0
build_component pulumi "$PULUMI_VERSION" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi pulumi "$PULUMI_LDFLAGS" \
	"github.com/pulumi/pulumi/pkg/v3@$PULUMI_MOD_VERSION" \
	"github.com/pulumi/pulumi/sdk/v3@$PULUMI_MOD_VERSION" || rc=$?
[ "$rc" = 0 ] || die "pulumi CLI: build failed (go error above)"

# 1b. dynamic-provider shim of the same release (a 5-line sh script shipped in
# sdk/v3's nodejs/dist): the CLI runs it as plugin "pulumi-nodejs" for
# pulumi.dynamic.Resource; it needs no language host, so it works with inline programs.
SHIM=pulumi-resource-pulumi-nodejs
if [ ! -x "$ENGINE_DIR/pulumi-$PULUMI_VERSION/$SHIM" ]; then
	log "step: copy $SHIM from github.com/pulumi/pulumi/sdk/v3@$PULUMI_MOD_VERSION/nodejs/dist"
	sdkdir=$(cd / && go mod download -json "github.com/pulumi/pulumi/sdk/v3@$PULUMI_MOD_VERSION" \
		| sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p') || die "go mod download sdk/v3 failed"
	install -m 0755 "$sdkdir/nodejs/dist/$SHIM" "$ENGINE_DIR/pulumi-$PULUMI_VERSION/$SHIM"
fi
ln -sfn "$ENGINE_DIR/pulumi-$PULUMI_VERSION/$SHIM" "$BIN_DIR/$SHIM"

# 2. Node.js language host (same release; its own untagged module)
if [ -n "$LANG_NODEJS_MOD_VERSION" ]; then
	rc=0
	build_component pulumi-language-nodejs "$PULUMI_VERSION" "$LANG_NODEJS_MODULE" pulumi-language-nodejs "$PULUMI_LDFLAGS" \
		"$LANG_NODEJS_MODULE@$LANG_NODEJS_MOD_VERSION" \
		"github.com/pulumi/pulumi/pkg/v3@$PULUMI_MOD_VERSION" \
		"github.com/pulumi/pulumi/sdk/v3@$PULUMI_MOD_VERSION" || rc=$?
	optional pulumi-language-nodejs "$rc"
else
	UNAVAILABLE+=(pulumi-language-nodejs)
	warn "pulumi-language-nodejs: LANG_NODEJS_MOD_VERSION is empty: the proxy serves no version of $LANG_NODEJS_MODULE" \
		"(go list -m -json $LANG_NODEJS_MODULE@v$PULUMI_VERSION / @latest / @master -> 403 'This module version is not available');" \
		"use Automation API inline programs instead"
	[ -z "${ENGINE_STRICT:-}" ] || die "pulumi-language-nodejs unavailable and ENGINE_STRICT is set"
fi

# ----------------------------------------------------------------- summary --
if [ -n "$MEASURE" ]; then
	MOD_AFTER=$(du -sk "$MODCACHE" | cut -f1); GOC_AFTER=$(du -sk "$GOCACHE_DIR" | cut -f1)
	log "disk: GOMODCACHE +$(( (MOD_AFTER - MOD_BEFORE) / 1024 )) MiB (now $((MOD_AFTER / 1024)) MiB)," \
		"GOCACHE +$(( (GOC_AFTER - GOC_BEFORE) / 1024 )) MiB (now $((GOC_AFTER / 1024)) MiB)," \
		"$BUILD_ROOT $(du -sh "$BUILD_ROOT" | cut -f1), $ENGINE_DIR $(du -sh "$ENGINE_DIR" | cut -f1)"
fi

echo
log "binaries (link dir for PATH: $BIN_DIR):"
for spec in "pulumi|github.com/pulumi/pulumi/pkg/v3" \
	"pulumi-language-nodejs|$LANG_NODEJS_MODULE"; do
	b=${spec%%|*} mod=${spec#*|}
	if [ -x "$BIN_DIR/$b" ]; then
		real=$(readlink -f "$BIN_DIR/$b")
		# -trimpath drops -ldflags from the embedded build info: the -X version
		# comes from the build stamp, the module version from `go version -m`.
		x=$(sed -n 's/.*Version=\([^ ]*\).*/\1/p' "$(dirname "$real")/.build-stamp" | head -n1)
		mv=$(go version -m "$real" | awk -v m="$mod" '($1 == "dep" || $1 == "mod") && $2 == m { print $3; exit }')
		info="-X Version=$x, built from $mod@$mv"
		if [ "$b" = pulumi ]; then info="\`pulumi version\`: $("$real" version 2>&1 | head -n1); $info"; fi
		printf '  %-24s %s\n  %-24s %s\n' "$b" "$real" "" "$info"
	else
		printf '  %-24s %s\n' "$b" "NOT AVAILABLE (see warnings above)"
	fi
done
log "built: ${BUILT[*]:-none}; cached: ${SKIPPED[*]:-none}; unavailable: ${UNAVAILABLE[*]:-none}; total $(elapsed "$T_START")"

# ------------------------------------------------------------------- NOTES --
# How the versions above were found (Go module proxy only; 2026-12-01):
# - pulumi v3.276.0: `go mod download -json github.com/pulumi/pulumi/pkg/v3@v3.276.0`
#   (Time 2026-11-12T12:59:22Z; the proxy's .info carries no Origin/commit hash).
#   pkg's go.mod replaces: sdk/v3 => ../sdk (dropped: local path) and
#   atotto/clipboard => tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e (copied).
# - pulumi-language-nodejs: every query is refused, so there is no commit to pin:
#     go list -m -json github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3@latest
#     -> reading .../@v/list: 403 Forbidden  server response: This module version is not available.
#   (same 403 for @master and @v3.276.0). Without it the CLI still runs Node
#   Automation API inline programs (and pulumi.dynamic resources via the shim);
#   a `runtime: nodejs` project fails with "no language plugin
#   'pulumi-language-nodejs' found in the workspace or on your $PATH".
# - pulumi-command v1.2.1: `go list -m -json github.com/pulumi/pulumi-command@v1.2.1`
#   gives Origin Hash 7f3eb6f3b77cd0fa3895ba437a695dd393f7dd25 (refs/tags/v1.2.1),
#   Time 2026-03-03T23:59:22Z => pseudo-version above. The proxy refuses it:
#     go list -m -json github.com/pulumi/pulumi-command/provider@v0.0.0-20260303235922-7f3eb6f3b77c
#     -> 403 Forbidden  server response: This module version is not available.
#   (provider@v1.2.1 -> 404 Not Found: no provider/ tag; provider@7f3eb6f3b77c,
#   @latest, list -> 403). Served instead, without provider code:
#   github.com/pulumi/pulumi-command@v1.2.1 (repo root: docs, Makefile) and
#   github.com/pulumi/pulumi-command/sdk@v1.2.1 (Go SDK, tag sdk/v1.2.1 = f0839b236d7b).
#   Checked again 2026-12-01: all still refused. Components no longer need it.
#   Set LANG_NODEJS_MOD_VERSION to a served version and rerun: build_component
#   builds it the same way.
