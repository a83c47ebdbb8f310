#!/bin/sh
# Installs the ksops binary on a workstation:
#   - as the legacy kustomize exec plugin viaduct.ai/v1 ksops, under
#     ${KUSTOMIZE_PLUGIN_HOME:-${XDG_CONFIG_HOME:-$HOME/.config}/kustomize/plugin}/viaduct.ai/v1/ksops/ksops
#   - and/or on PATH, for KRM exec functions (`exec: {path: ksops}`) and `ksops render`.
#
# Usage: install.sh [--plugin-only | --path-only] [--bin-dir DIR] [BINARY]
#   BINARY     the ksops binary to install (default: target/release/ksops, else `ksops` on PATH)
#   --bin-dir  PATH directory (default: $HOME/.local/bin)
set -eu

mode=both
bin_dir="${HOME}/.local/bin"
src=""

usage() {
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

while [ "$#" -gt 0 ]; do
    case "$1" in
        --plugin-only) mode=plugin ;;
        --path-only) mode=path ;;
        --bin-dir)
            [ "$#" -ge 2 ] || usage
            bin_dir="$2"
            shift
            ;;
        -h | --help) usage ;;
        -*) echo "install.sh: unknown option $1" >&2; usage ;;
        *) src="$1" ;;
    esac
    shift
done

if [ -z "$src" ]; then
    here=$(cd "$(dirname "$0")" && pwd)
    if [ -x "$here/../../target/release/ksops" ]; then
        src="$here/../../target/release/ksops"
    elif command -v ksops >/dev/null 2>&1; then
        src=$(command -v ksops)
    else
        echo "install.sh: no ksops binary given and none found (run: cargo build --release)" >&2
        exit 1
    fi
fi
if [ ! -f "$src" ] || [ ! -x "$src" ]; then
    echo "install.sh: $src is not an executable file" >&2
    exit 1
fi

# Copies through a temporary name in the destination directory, then renames: a running
# kustomize never sees a half-written plugin.
put() {
    dest_dir="$1"
    mkdir -p "$dest_dir"
    tmp="$dest_dir/.ksops.$$"
    cp "$src" "$tmp"
    chmod 0755 "$tmp"
    mv -f "$tmp" "$dest_dir/ksops"
    echo "installed $dest_dir/ksops" >&2
}

if [ "$mode" != path ]; then
    plugin_home="${KUSTOMIZE_PLUGIN_HOME:-${XDG_CONFIG_HOME:-$HOME/.config}/kustomize/plugin}"
    put "$plugin_home/viaduct.ai/v1/ksops"
fi
if [ "$mode" != plugin ]; then
    put "$bin_dir"
    case ":${PATH}:" in
        *":$bin_dir:"*) ;;
        *) echo "note: $bin_dir is not on PATH" >&2 ;;
    esac
fi
