#!/usr/bin/env bash
# Regenerates the encrypted inputs of tests/fixtures/ksops-cases/: KSOPS's own integration
# scenarios (test/legacy/* and test/krm/* of kustomize-sops v4.5.1) with our own plaintexts,
# encrypted by the real sops for the TEST ONLY PGP key in tests/fixtures/ksops-cases/.
#
# Only the `*.enc.*` files are written here. The kustomizations, generator configs, bases and
# the expected outputs (`want.yaml`) are written by hand from KSOPS's semantics and committed
# as they are; re-running this script must leave every test passing without touching them.
#
# The key is reused when present, so regenerating changes only ciphertexts (random IVs and data
# keys). `--new-key` makes a fresh TEST ONLY key first.
#
# Usage: scripts/gen-ksops-cases.sh [--new-key]   (needs sops 3.11+ and gpg 2.2+ on PATH)
set -euo pipefail

# shellcheck source=scripts/lib-fixture-cases.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib-fixture-cases.bash"
fixture_setup gen-ksops-cases ksops-cases "$SOPS" gpg gpgconf

KEY="$OUT/test-only-pgp-key.asc"

export GNUPGHOME="$WORK/gnupg"
mkdir -m 700 "$GNUPGHOME"
cleanup() {
    gpgconf --homedir "$GNUPGHOME" --kill gpg-agent 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

if [[ "${1:-}" == "--new-key" || ! -f "$KEY" ]]; then
    gpg --batch --quiet --passphrase '' --quick-gen-key \
        'ksops test suite (TEST ONLY, throwaway) <test@example.invalid>' \
        future-default default never
    {
        echo '# TEST ONLY: throwaway PGP key for the ksops test fixtures; it protects nothing else.'
        gpg --batch --armor --export-secret-keys
    } > "$KEY"
else
    gpg --batch --quiet --import "$KEY"
fi
FPR="$(gpg --batch --with-colons --list-secret-keys | awk -F: '$1 == "fpr" { print $10; exit }')"
echo "gen-ksops-cases: PGP key $FPR"

# encrypt CASE_DIR NAME: the plaintext on stdin, encrypted for the key into CASE_DIR/NAME, with
# the unencrypted_regex KSOPS's own fixtures use.
encrypt() {
    local dir="$OUT/$1" name=$2
    mkdir -p "$dir"
    cat > "$WORK/$name"
    "$SOPS" encrypt --pgp "$FPR" \
        --unencrypted-regex '^(apiVersion|metadata|kind|type)$' \
        --filename-override "$name" "$WORK/$name" > "$dir/$name"
    rm -f "$WORK/$name"
}

# secret NAME [ANNOTATION]: the Secret every `files` scenario decrypts (values: `admin`,
# `1f2d1e2e67df`, `kustomize-sops`), named NAME, with an optional metadata annotation line.
secret() {
    printf 'apiVersion: v1\ndata:\n  password: MWYyZDFlMmU2N2Rm\n  username: YWRtaW4=\n'
    printf 'kind: Secret\nmetadata:\n  name: %s\n' "$1"
    if [[ -n "${2:-}" ]]; then
        printf '  annotations:\n    %s\n' "$2"
    fi
    printf 'stringData:\n  application: kustomize-sops\ntype: Opaque\n'
}
credentials() { printf 'username: admin\npassword: 1f2d1e2e67df\n'; }
dotenv() { printf 'password=1f2d1e2e67df\nusername=admin\n'; }

for mode in legacy krm; do
    secret mysecret | encrypt "$mode/single" secret.enc.yaml
    for x in A B C; do
        secret "mysecret-$x" | encrypt "$mode/multiple" "secret-$x.enc.yaml"
    done
    secret mysecret-hash 'kustomize.config.k8s.io/needs-hash: "true"' |
        encrypt "$mode/hash" secret.enc.yaml
    secret my-base-secret 'kustomize.config.k8s.io/behavior: replace' |
        encrypt "$mode/behaviors" secret.enc.yaml
    for case in file binaryfile override; do
        credentials | encrypt "$mode/$case" secret.enc.yaml
    done
    for case in envs metadata; do
        dotenv | encrypt "$mode/$case" secret.enc.env
    done
done
# KSOPS's legacy `multiple` scenario also turns a plain file into a Secret through binaryFiles.
credentials | encrypt legacy/multiple secret.enc.yaml
