#!/usr/bin/env bash
# Regenerates tests/fixtures/generated-pq/: files sops encrypted to post-quantum age recipients
# (`age1pq1…`, stanza `mlkem768x25519`), `sops decrypt` outputs and case files for
# tests/suite/age_pq.rs. Case file format: see scripts/gen-fixtures.sh.
#
# The keys are fresh on every run and made by typage (the npm package `age-encryption`, an
# independent age implementation), since age-keygen before age 1.3 cannot make hybrid keys; the
# `# public key:` line of each key file is typage's recipient, which the Rust tests derive again.
#
# Usage: scripts/gen-pq-fixtures.sh   (needs sops ≥ 3.12 or a build with hybrid age, node, npm)
set -euo pipefail

# shellcheck source=scripts/lib-fixture-cases.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib-fixture-cases.bash"
fixture_setup gen-pq-fixtures generated-pq "$SOPS" node npm

TYPAGE_VERSION="0.3.1"

npm install --silent --no-audit --no-fund --prefix "$WORK/npm" "age-encryption@$TYPAGE_VERSION" >/dev/null
cat >"$WORK/npm/keygen.mjs" <<'JS'
import { generateHybridIdentity, identityToRecipient } from "age-encryption";
const identity = await generateHybridIdentity();
const recipient = await identityToRecipient(identity);
process.stdout.write(`# TEST ONLY: throwaway key for ksops test fixtures\n# public key: ${recipient}\n${identity}\n`);
JS

rm -rf "$OUT"
mkdir -p "$OUT/keys" "$OUT/plain"
cd "$OUT"

cat >README.md <<'MD'
# Generated post-quantum fixtures (TEST ONLY)

Produced by `scripts/gen-pq-fixtures.sh` with the real sops; do not edit by hand. Files encrypted
to post-quantum age recipients (`age1pq1…`); `<case>.case` and `<case>.expected` as in
`../generated/`. `keys/` holds throwaway TEST ONLY keys made by typage (`age-encryption` on npm).
MD

newpq() { # newpq <file>: a fresh hybrid identity; prints the recipient
    (cd "$WORK/npm" && node keygen.mjs) >"$1"
    sed -n 's/^# public key: //p' "$1"
}
PQ="$(newpq keys/pq.txt)"
PQ2="$(newpq keys/pq-2.txt)"
newpq keys/pq-wrong.txt >/dev/null
X25519="$(sed -n 's/^# public key: //p' "$ROOT/tests/fixtures/vectors/age-test-identity.txt")"

cat >plain/secret.yaml <<'YAML'
# comment
apiVersion: v1
kind: Secret
data:
  password: hunter2
  port: 5432
  list: [a, 1.5, true]
YAML
printf '{"user":"admin","password":"hunter2","nested":{"n":1.5,"ok":true}}\n' >plain/secret.json
printf 'USER=admin\nPASSWORD=hunter2\n# comment\nEMPTY=\n' >plain/secret.env
printf '[db]\nuser = admin\npassword = hunter2\n' >plain/secret.ini
printf 'line one\nbinary \001\002\003 tail' >plain/secret.bin

enc() { # enc <plain file> <out name> <recipients>
    env -i PATH="$PATH" HOME="$WORK" "$SOPS" encrypt --age "$3" --filename-override "$1" \
        "plain/$1" >"$2"
}

KPQ="SOPS_AGE_KEY_FILE=keys/pq.txt"
for f in secret.yaml secret.json secret.env secret.ini secret.bin; do
    enc "$f" "$f" "$PQ"
    case_file "$f" "FILE=$f" "$KPQ"
done
# Every source that holds age identities.
case_file key-env "FILE=secret.yaml" "SOPS_AGE_KEY=@keys/pq.txt"
case_file key-cmd "FILE=secret.yaml" "SOPS_AGE_KEY_CMD=cat keys/pq.txt"
case_file keys-txt "FILE=secret.yaml" "HOME_FILE=.config/sops/age/keys.txt:keys/pq.txt"
# Two hybrid recipients and an X25519 one: each identity alone decrypts.
enc secret.yaml mixed.yaml "$PQ,$PQ2,$X25519"
case_file mixed-second "FILE=mixed.yaml" "SOPS_AGE_KEY_FILE=keys/pq-2.txt"
case_file mixed-x25519 "FILE=mixed.yaml" "SOPS_AGE_KEY_FILE=../vectors/age-test-identity.txt"
# A hybrid identity that is not a recipient.
case_file wrong-key "FILE=secret.yaml" "SOPS_AGE_KEY_FILE=keys/pq-wrong.txt" "EXIT=128"
