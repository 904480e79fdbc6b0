#!/usr/bin/env bash
# Installs the gantry binaries an action needs; see docs/actions/setup.md.
# Inputs (env): GANTRY_BINARIES. Also read: GANTRY_BIN_DIR, GANTRY_RELEASE_BASE_URL,
# GANTRY_SETUP_MANIFEST (tests only), RUNNER_TOOL_CACHE, CARGO_TARGET_DIR.
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

missing=()
if [[ -f $marker ]]; then
  for b in "${bins[@]}"; do [[ -x $cache_dir/gantry-$b ]] || missing+=("$b"); done
  ((${#missing[@]})) || finish cache "$cache_dir" "$version"
else
  # A directory without its marker was never verified: start over.
  rm -rf "$cache_dir"
  missing=("${bins[@]}")
fi

if command -v sha256sum >/dev/null; then
  sha256() { sha256sum "$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null; then
  sha256() { shasum -a 256 "$1" | cut -d' ' -f1; }
else
  bail "neither sha256sum nor shasum is installed: cannot verify the download"
fi
command -v curl >/dev/null || bail "curl is required to download the release"
command -v tar >/dev/null || bail "tar is required to unpack the release"

repository=$(jq -r '.repository // empty' "$manifest")
base=${GANTRY_RELEASE_BASE_URL:-https://github.com/$repository/releases/download/v$version}
if [[ $base =~ ^http://(127\.0\.0\.1|localhost)(:[0-9]+)?(/|$) ]]; then
  curl_args=(--proto '=http' -fsS --retry 3) # loopback test server: plain http, no redirects
elif [[ $base == https://* ]]; then
  curl_args=(--proto '=https' --tlsv1.2 -fsSL --retry 3)
else
  bail "release URL must be https (plain http only on 127.0.0.1/localhost): $base"
fi

mkdir -p "$(dirname "$cache_dir")"
work=$(mktemp -d "$(dirname "$cache_dir")/.gantry-setup.XXXXXX")
trap 'rm -rf "$work"' EXIT

group "Downloading ${missing[*]} $version for $target"
for b in "${missing[@]}"; do
  entry=$(jq -c --arg b "$b" --arg t "$target" '.binaries[$b][$t] // empty' "$manifest")
  [[ -n $entry ]] || bail "manifest has no gantry-$b for $target (version $version)"
  archive=$(jq -r '.archive // empty' <<<"$entry")
  want=$(jq -r '.sha256 // empty' <<<"$entry")
  [[ $archive == "gantry-$b-$version-$target.tar.gz" ]] ||
    bail "manifest names an unexpected archive for gantry-$b $target: '$archive'"
  [[ $want =~ ^[0-9a-f]{64}$ ]] || bail "manifest has no valid sha256 for $archive"
  curl "${curl_args[@]}" -o "$work/$archive" "$base/$archive" || bail "download failed: $base/$archive"
  got=$(sha256 "$work/$archive")
  [[ $got == "$want" ]] || bail "sha256 mismatch for $archive: expected $want, got $got"
  mkdir "$work/$b"
  tar -xzf "$work/$archive" -C "$work/$b" "gantry-$b" || bail "$archive has no entry gantry-$b"
  [[ -f $work/$b/gantry-$b && ! -L $work/$b/gantry-$b ]] || bail "$archive: gantry-$b is not a regular file"
  chmod 755 "$work/$b/gantry-$b"
  echo "verified $archive ($got)" >&2
done
endgroup

# Only verified files enter the cache dir, each by an atomic rename; the marker comes last.
mkdir -p "$cache_dir"
for b in "${missing[@]}"; do mv -f "$work/$b/gantry-$b" "$cache_dir/gantry-$b"; done
touch "$marker"
finish download "$cache_dir" "$version"
