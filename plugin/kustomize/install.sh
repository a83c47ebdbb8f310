#!/bin/sh
# Installs the ksops binary on a workstation:
#   - as the legacy kustomize exec plugin, under the plugin home kustomize searches, with an
#     entry for every apiVersion/kind KSOPS generators have used: viaduct.ai/v1/ksops/ksops,
#     viaduct.ai/v2/ksops/ksops and viaduct.ai/v1/ksops-exec/ksops-exec
#   - and/or on PATH, for KRM exec functions (`exec: {path: ksops}`) and `ksops render`.
#
# Usage: install.sh [--plugin-only | --path-only] [--bin-dir DIR] [BINARY]
#   BINARY     the ksops binary to install (default: target/release/ksops, else `ksops` on PATH)
#   --bin-dir  PATH directory (default: $HOME/.local/bin)
# The plugin home is $KUSTOMIZE_PLUGIN_HOME when set, else the first existing one of
# $XDG_CONFIG_HOME/kustomize/plugin, $HOME/.config/kustomize/plugin, $HOME/kustomize/plugin
# (kustomize's order), else ${XDG_CONFIG_HOME:-$HOME/.config}/kustomize/plugin.
set -eu

mode=both
bin_dir="${HOME}/.local/bin"
src=""

usage() {
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
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

# put <dir> <name>: copies through a temporary name in the destination directory, then
# renames, so a running kustomize never sees a half-written plugin.
put() {
    mkdir -p "$1"
    tmp="$1/.ksops.$$"
    cp "$src" "$tmp"
    chmod 0755 "$tmp"
    mv -f "$tmp" "$1/$2"
    echo "installed $1/$2" >&2
}

# link <dir> <name> <target>: a relative symbolic link, replaced in one rename.
link() {
    mkdir -p "$1"
    tmp="$1/.ksops.$$"
    rm -f "$tmp"
    ln -s "$3" "$tmp"
    mv -f "$tmp" "$1/$2"
    echo "installed $1/$2 -> $3" >&2
}

# The plugin home kustomize will search, as described in the usage above.
plugin_home() {
    if [ -n "${KUSTOMIZE_PLUGIN_HOME:-}" ]; then
        echo "$KUSTOMIZE_PLUGIN_HOME"
        return
    fi
    for candidate in ${XDG_CONFIG_HOME:+"$XDG_CONFIG_HOME/kustomize/plugin"} \
        "$HOME/.config/kustomize/plugin" "$HOME/kustomize/plugin"; do
        if [ -d "$candidate" ]; then
            echo "$candidate"
            return
        fi
    done
    echo "${XDG_CONFIG_HOME:-$HOME/.config}/kustomize/plugin"
}

if [ "$mode" != path ]; then
    home=$(plugin_home)
    put "$home/viaduct.ai/v1/ksops" ksops
    link "$home/viaduct.ai/v2/ksops" ksops ../../v1/ksops/ksops
    link "$home/viaduct.ai/v1/ksops-exec" ksops-exec ../ksops/ksops
fi
if [ "$mode" != plugin ]; then
    put "$bin_dir" ksops
    case ":${PATH}:" in
        *":$bin_dir:"*) ;;
        *) echo "note: $bin_dir is not on PATH" >&2 ;;
    esac
fi
