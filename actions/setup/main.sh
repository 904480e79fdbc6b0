#!/usr/bin/env bash
# Installs the gantry binaries an action needs; see docs/actions/setup.md.
# Inputs (env): GANTRY_BINARIES, GANTRY_SETUP_ALLOW_UNVERIFIED. Also read: GANTRY_BIN_DIR and
# GANTRY_SETUP_MANIFEST (tests, or with the opt-in), GANTRY_RELEASE_BASE_URL, RUNNER_ENVIRONMENT,
# RUNNER_TOOL_CACHE, CARGO_TARGET_DIR.
set -CeEuo pipefail
trap 'echo "::error::gantry setup: unexpected failure at line ${LINENO}: ${BASH_COMMAND}" >&2' ERR

bail() {
  echo "::error::gantry setup: $*" >&2
  exit 1
}
group() { echo "::group::$*" >&2; }
endgroup() { echo "::endgroup::" >&2; }
output() {
  if [[ -n ${GITHUB_OUTPUT:-} ]]; then echo "$1=$2" >>"$GITHUB_OUTPUT"; else echo "$1=$2"; fi
}

# This script's own directory: it is also run from sibling actions, whose GITHUB_ACTION_PATH differs.
action_path=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$action_path/../.." && pwd)

# --- the unverified overrides: GANTRY_BIN_DIR and GANTRY_SETUP_MANIFEST ----------------------------
# Honoured off GitHub's runners (tests, make demo: no RUNNER_ENVIRONMENT) or with the explicit
# opt-in (input `allow-unverified`, or GANTRY_SETUP_ALLOW_UNVERIFIED=true in the job); refused
# elsewhere. Each one in force is said in the log. See docs/actions/setup.md.
override_allowed() {
  if [[ ${GANTRY_SETUP_ALLOW_UNVERIFIED:-} == true ]]; then
    why="allow-unverified is true"
  elif [[ -z ${RUNNER_ENVIRONMENT:-} ]]; then
    why="not on a GitHub runner"
  else
    return 1
  fi
}
case ${GANTRY_SETUP_ALLOW_UNVERIFIED:-} in
  "" | true | false) ;;
  *) bail "input \`allow-unverified\`: '${GANTRY_SETUP_ALLOW_UNVERIFIED//[$'\r\n']/ }' is not true or false" ;;
esac
for var in GANTRY_BIN_DIR GANTRY_SETUP_MANIFEST; do
  [[ -n ${!var:-} ]] || continue
  override_allowed ||
    bail "$var is set on a ${RUNNER_ENVIRONMENT//[$'\r\n']/ } runner: it bypasses verification and is only for tests. Unset it, or opt in with the input \`allow-unverified: true\` (GANTRY_SETUP_ALLOW_UNVERIFIED=true)"
  echo "gantry setup: $var is set ($why): ${!var//[$'\r\n']/ } is used unverified" >&2
done
manifest=${GANTRY_SETUP_MANIFEST:-$action_path/manifest.json}
command -v jq >/dev/null || bail "jq is required to read $manifest"
[[ -f $manifest ]] || bail "manifest not found: $manifest"
version=$(jq -er '.version | strings' "$manifest") || bail "manifest $manifest has no version"

# --- input `binaries` ------------------------------------------------------------------------
read -r -d '' -a names <<<"${GANTRY_BINARIES:-}" || true
((${#names[@]})) || bail "input \`binaries\` is empty: name the binaries to install, e.g. \`invalidate site\`"
bins=()
for name in "${names[@]}"; do
  [[ $name =~ ^[a-z][a-z0-9-]*$ ]] ||
    bail "input \`binaries\`: '$name' is not a binary name (lower-case letters, digits and '-', without the gantry- prefix, e.g. \`invalidate\`)"
  if [[ ! -f $root/crates/gantry-$name/src/main.rs ]] && ! jq -e --arg b "$name" '.binaries | has($b)' "$manifest" >/dev/null; then
    known=$(cd "$root/crates" && find . -path './gantry-*/src/main.rs' | sed 's|^./gantry-||; s|/src/main.rs$||' | sort | tr '\n' ' ')
    bail "input \`binaries\`: unknown binary '$name' (known: ${known:-none})"
  fi
  [[ " ${bins[*]-} " == *" $name "* ]] || bins+=("$name")
done

finish() { # SOURCE BIN_DIR VERSION
  for b in "${bins[@]}"; do [[ -x $2/gantry-$b ]] || bail "gantry-$b is not executable in $2"; done
  output source "$1"
  output bin-dir "$2"
  output version "$3"
  if [[ -n ${GITHUB_PATH:-} ]]; then echo "$2" >>"$GITHUB_PATH"; fi
  echo "gantry setup: ${bins[*]} from $1 ($2)" >&2
  exit 0
}

# --- prebuilt: binaries already built (tests, the demo) -----------------------------------------
if [[ -n ${GANTRY_BIN_DIR:-} ]]; then
  [[ -d $GANTRY_BIN_DIR ]] || bail "GANTRY_BIN_DIR is not a directory: $GANTRY_BIN_DIR"
  finish prebuilt "$(cd "$GANTRY_BIN_DIR" && pwd)" "$version"
fi

# --- release or not: only the release commit's sources have the manifest's digest ---------------
group "Checking whether this is a release commit"
digest=$("$action_path/source-digest.sh" "$root")
release_digest=$(jq -r '."source-digest" // empty' "$manifest")
echo "source digest $digest; release digest ${release_digest:-none} (version $version)" >&2
endgroup

if [[ $digest != "$release_digest" ]]; then
  group "Building ${bins[*]} from source (not a release commit)"
  command -v cargo >/dev/null ||
    bail "cargo not found: this commit of gantry is not a release, so setup builds the binaries from its own source. Add a Rust toolchain step (e.g. dtolnay/rust-toolchain) before this action, or use a release tag"
  args=()
  for b in "${bins[@]}"; do args+=(-p "gantry-$b"); done
  # From the checkout, so that its rust-toolchain.toml picks the toolchain.
  (cd "$root" && cargo build --release --locked --manifest-path "$root/Cargo.toml" "${args[@]}") >&2 ||
    bail "cargo build --release --locked ${args[*]} failed"
  target_dir=${CARGO_TARGET_DIR:-$root/target}
  [[ $target_dir == /* ]] || target_dir=$root/$target_dir
  endgroup
  finish build "$target_dir/release" "$version+src.${digest:0:12}"
fi

# --- release: download, verify, cache --------------------------------------------------------------
case "$(uname -s)/$(uname -m)" in
  Linux/x86_64 | Linux/amd64) target=x86_64-unknown-linux-gnu ;;
  Linux/aarch64 | Linux/arm64) target=aarch64-unknown-linux-gnu ;;
  Darwin/arm64 | Darwin/aarch64) target=aarch64-apple-darwin ;;
  *) bail "no gantry release for $(uname -s)/$(uname -m) (released: x86_64/aarch64 Linux, aarch64 macOS)" ;;
esac
tool_cache=${RUNNER_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gantry/tool-cache}
cache_dir=$tool_cache/gantry/$version/$target
marker=$cache_dir.complete

if command -v sha256sum >/dev/null; then
  sha256() { sha256sum "$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null; then
  sha256() { shasum -a 256 "$1" | cut -d' ' -f1; }
else
  bail "neither sha256sum nor shasum is installed: cannot verify the download"
fi
command -v tar >/dev/null || bail "tar is required to unpack the release"

# The manifest's entries for this target, read once (one jq, not three per binary):
# "<binary> TAB <archive> TAB <sha256>" lines, empty fields where the manifest has none.
entries=$(jq -r --arg t "$target" '(.binaries | objects // {}) | to_entries[]
  | (.value | objects | .[$t] | objects // {}) as $e
  | [.key, ($e.archive // "" | tostring), ($e.sha256 // "" | tostring)] | @tsv' "$manifest") ||
  bail "manifest $manifest: cannot read its binaries"

# The manifest's archive name and sha256 for binary $1 (sets archive, want).
entry_of() {
  local b a s
  archive='' want=''
  while IFS=$'\t' read -r b a s; do
    [[ $b == "$1" ]] || continue
    archive=$a want=$s
    break
  done <<<"$entries"
  [[ -n $archive || -n $want ]] || bail "manifest has no gantry-$1 for $target (version $version)"
  [[ $archive == "gantry-$1-$version-$target.tar.gz" ]] ||
    bail "manifest names an unexpected archive for gantry-$1 $target: '$archive'"
  [[ $want =~ ^[0-9a-f]{64}$ ]] || bail "manifest has no valid sha256 for $archive"
}

# Extracts gantry-$1 from the verified archive $2 into directory $3.
unpack() {
  mkdir "$3"
  tar -xzf "$2" -C "$3" "gantry-$1" || bail "$(basename "$2") has no entry gantry-$1"
  [[ -f $3/gantry-$1 && ! -L $3/gantry-$1 ]] || bail "$(basename "$2"): gantry-$1 is not a regular file"
  chmod 755 "$3/gantry-$1"
}

# Waits for the background jobs $@ (hashing and unpacking are CPU-bound, so each binary's runs
# beside the others' on the runner's cores). Each job that failed has said why (::error::); then
# the step fails.
wait_all() {
  local failed=0 p
  for p in "$@"; do wait "$p" || failed=1; done
  ((failed == 0)) || exit 1
}

mkdir -p "$(dirname "$cache_dir")"
work=$(mktemp -d "$(dirname "$cache_dir")/.gantry-setup.XXXXXX")
trap 'rm -rf "$work"' EXIT

# A hit is re-verified every time: the cached archive against the manifest's sha256, the cached
# binary against that archive's entry. Whatever fails is downloaded again (its name is left in
# $work/again-BINARY).
recheck() {
  local cached got
  entry_of "$1"
  cached=$cache_dir/$archive
  if [[ ! -f $cached || -L $cached ]]; then
    : >"$work/again-$1"
    return 0
  fi
  got=$(sha256 "$cached")
  if [[ $got != "$want" ]]; then
    echo "::warning::gantry setup: the cached $archive does not have the manifest's sha256 (expected $want, got $got); downloading it again" >&2
    rm -f "$cached"
    : >"$work/again-$1"
    return 0
  fi
  unpack "$1" "$cached" "$work/cached-$1"
  if ! cmp -s "$work/cached-$1/gantry-$1" "$cache_dir/gantry-$1"; then
    echo "::warning::gantry setup: the cached gantry-$1 is not the one in its verified archive; replacing it" >&2
    mv -f "$work/cached-$1/gantry-$1" "$cache_dir/gantry-$1"
  fi
  echo "verified cached $archive ($got)" >&2
}

missing=()
if [[ -f $marker ]]; then
  group "Verifying the cached ${bins[*]} $version for $target"
  pids=()
  for b in "${bins[@]}"; do
    recheck "$b" &
    pids+=("$!")
  done
  wait_all "${pids[@]}"
  for b in "${bins[@]}"; do
    if [[ -e $work/again-$b ]]; then missing+=("$b"); fi
  done
  endgroup
  ((${#missing[@]})) || finish cache "$cache_dir" "$version"
else
  # A directory without its marker was never verified: start over.
  rm -rf "$cache_dir"
  missing=("${bins[@]}")
fi

command -v curl >/dev/null || bail "curl is required to download the release"

repository=$(jq -r '.repository // empty' "$manifest")
base=${GANTRY_RELEASE_BASE_URL:-https://github.com/$repository/releases/download/v$version}
if [[ $base =~ ^http://(127\.0\.0\.1|localhost)(:[0-9]+)?(/|$) ]]; then
  curl_args=(--proto '=http' -fsS) # loopback test server: plain http, no redirects
elif [[ $base == https://* ]]; then
  curl_args=(--proto '=https' --tlsv1.2 -fsSL)
else
  bail "release URL must be https (plain http only on 127.0.0.1/localhost): $base"
fi
# A stalled server ends the step instead of holding it until the job's timeout.
curl_args+=(--retry 3 --connect-timeout 20 --max-time "${GANTRY_SETUP_MAX_TIME:-300}")
[[ ${GANTRY_SETUP_MAX_TIME:-300} =~ ^[1-9][0-9]{0,4}$ ]] ||
  bail "GANTRY_SETUP_MAX_TIME: '${GANTRY_SETUP_MAX_TIME//[$'\r\n']/ }' is not a whole number of seconds (1-99999)"

# Every entry is checked before anything is downloaded; then one curl fetches the archives side
# by side, and each is verified and unpacked.
group "Downloading ${missing[*]} $version for $target"
downloads=()
for b in "${missing[@]}"; do
  entry_of "$b"
  downloads+=(-o "$work/$archive" "$base/$archive")
done
curl "${curl_args[@]}" --parallel --parallel-max 8 "${downloads[@]}" ||
  bail "download failed: ${missing[*]} from $base"
verify() {
  local got
  entry_of "$1"
  got=$(sha256 "$work/$archive")
  [[ $got == "$want" ]] || bail "sha256 mismatch for $archive: expected $want, got $got"
  unpack "$1" "$work/$archive" "$work/$1"
  echo "verified $archive ($got)" >&2
}
pids=()
for b in "${missing[@]}"; do
  verify "$b" &
  pids+=("$!")
done
wait_all "${pids[@]}"
endgroup

# Only verified files enter the cache dir, each by an atomic rename; the marker comes last.
mkdir -p "$cache_dir"
# The archive stays beside its binary: the next hit re-verifies both.
for b in "${missing[@]}"; do
  entry_of "$b"
  mv -f "$work/$archive" "$cache_dir/$archive"
  mv -f "$work/$b/gantry-$b" "$cache_dir/gantry-$b"
done
touch "$marker"
finish download "$cache_dir" "$version"
