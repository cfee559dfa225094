#!/usr/bin/env bash
# Creates a standalone WDM driver crate that depends on wdm-mem:
#
#   bash scripts/new-driver.sh DIR [NAME]
#
# DIR must be outside this repository and empty or absent; NAME (default:
# DIR's last component) is the package name: lowercase letters, digits and
# '-', starting with a letter. The crate (from scripts/driver-template/):
# DriverEntry/DriverUnload, a device and its symbolic link, one
# METHOD_BUFFERED IOCTL using pool and a lookaside list, a panic handler,
# host unit tests against wdm-mem's kernel model, a user-mode client, its
# INX, build.rs, and `cargo xtask build` / `cargo xtask run`
# (scripts/driver-build.sh, scripts/driver-run.sh). It depends on wdm-mem by
# path (this repository); DIR/README.md says how to switch to a version.
#
# DIR/Cargo.lock starts as a copy of wdm-mem's, so the new crate resolves to
# the dependency versions wdm-mem is tested with without a registry update.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
template=$root/scripts/driver-template

(($# == 1 || $# == 2)) || { echo "usage: $0 DIR [NAME]" >&2; exit 2; }
dir=$(realpath -m "$1")
name=${2:-$(basename "$dir")}
if [[ ! $name =~ ^[a-z][a-z0-9-]*$ || $name == *- || $name == xtask || $name == wdm-mem ]]; then
  echo "new-driver: \"$name\" is not a usable package name (a-z, 0-9, '-'; starts with a letter)" >&2
  exit 2
fi
case $dir/ in
  "$root"/*) echo "new-driver: $dir is inside the wdm-mem repository: choose a folder outside it" >&2; exit 2 ;;
esac
if [[ -e $dir && -n $(ls -A "$dir") ]]; then
  echo "new-driver: $dir is not empty" >&2
  exit 2
fi

crate=${name//-/_}
# The device name: my-driver -> MyDriver.
device=$(sed -E 's/(^|-)([a-z])/\U\2/g; s/-//g' <<<"$name")

mkdir -p "$dir"
cp -R "$template/." "$dir/"
mv "$dir/driver.inx" "$dir/$name.inx"
# The template's manifests are *.in: a Cargo.toml would make cargo take the
# template for a package of its own (and leave it out of wdm-mem's).
for manifest in Cargo.toml client/Cargo.toml xtask/Cargo.toml; do
  mv "$dir/$manifest.in" "$dir/$manifest"
done
[[ ! -f $root/Cargo.lock ]] || cp "$root/Cargo.lock" "$dir/Cargo.lock"
cat >"$dir/.gitignore" <<'IGNORE'
/target/
IGNORE
# Placeholders: {{name}} {{crate}} {{device}} {{wdm_mem_path}}.
find "$dir" -type f ! -name Cargo.lock -print0 | xargs -0 sed -i \
  -e "s|{{name}}|$name|g" -e "s|{{crate}}|$crate|g" -e "s|{{device}}|$device|g" -e "s|{{wdm_mem_path}}|$root|g"
echo "new-driver: created $dir ($name, device \\\\.\\$device)"
echo "new-driver: next: cd $dir && the commands at the top of README.md"
