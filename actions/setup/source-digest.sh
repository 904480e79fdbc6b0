#!/usr/bin/env bash
# Prints the sha256 of the sources that build the gantry binaries: Cargo.toml, Cargo.lock,
# rust-toolchain.toml and every file under crates/. Each file is hashed, the list
# `<sha256>  <path>` is sorted by path (C locale), and that list is hashed: the same tree gives the
# same digest on any machine. The release workflow writes it into manifest.json as `source-digest`.
#   source-digest.sh [REPO_ROOT]      (default: two levels above this script)
set -euo pipefail

root=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$root"

if command -v sha256sum >/dev/null; then
  sha_cmd=(sha256sum)
elif command -v shasum >/dev/null; then
  sha_cmd=(shasum -a 256)
else
  echo "source-digest: neither sha256sum nor shasum is installed" >&2
  exit 1
fi

# One hashing process for all the files (not one per file): the same lines in the same order.
{
  printf '%s\0' Cargo.toml Cargo.lock rust-toolchain.toml
  find crates -type f ! -path '*/target/*' -print0
} | LC_ALL=C sort -z | xargs -0 "${sha_cmd[@]}" | "${sha_cmd[@]}" | cut -d' ' -f1
