#!/usr/bin/env bash
# Regenerates tests/fixtures/dry-run/ (the overlays of tests/suite/dry_run.rs) with
# the real sops. Every file is encrypted for both TEST ONLY vector identities
# (tests/fixtures/vectors/age-test-identity.txt and age-test-identity-2.txt), so a render with
# either key works and the two can be compared. The plaintexts live only in this script and in a
# temporary directory that is removed on exit.
#
#   overlay/  a kustomization with a ksops generator (legacy exec plugin layout) using every kind
#             of entry: two `files` manifests (only data|stringData encrypted, one of them with
#             base64 `data`) and a `secretFrom` with `files`, `binaryFiles` and `envs`; plus a
#             Deployment that refers to the generated, name-hashed Secret.
#   full/     a generator whose manifest is encrypted entirely (metadata.name included), which a
#             dry run must refuse with advice.
set -euo pipefail
source "$(dirname "$0")/sops-encrypt.bash"
cd "$(dirname "$0")/../tests/fixtures/dry-run"
sops="${KSOPS_SOPS:-sops}"
vectors=../vectors
one=$(grep -o 'age1[0-9a-z]*' "$vectors/age-test-identity.txt" | head -n 1)
two=$(grep -o 'age1[0-9a-z]*' "$vectors/age-test-identity-2.txt" | head -n 1)
plain=$(mktemp -d)
trap 'rm -rf "$plain"' EXIT

cat > .sops.yaml <<YAML
# TEST ONLY: creation rules of the dry-run fixtures (scripts/gen-dry-run-fixtures.sh).
creation_rules:
  - path_regex: ^full/
    age: $one,$two
  - path_regex: \.secret\.yaml$
    encrypted_regex: ^(data|stringData)$
    age: $one,$two
  - age: $one,$two
YAML

encrypt overlay/database.secret.yaml <<'YAML'
apiVersion: v1
kind: Secret
metadata:
  name: database
  labels:
    app: shop
    tier: db
  annotations:
    kustomize.config.k8s.io/needs-hash: "true"
type: Opaque
stringData:
  username: shop_owner
  password: correct-horse-battery-staple
  url: postgres://shop_owner@db.internal:5432/shop
YAML

encrypt overlay/tls.secret.yaml <<'YAML'
apiVersion: v1
kind: Secret
metadata:
  name: shop-tls
type: kubernetes.io/tls
data:
  tls.crt: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCmZpeHR1cmUtY2VydAo=
  tls.key: LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCmZpeHR1cmUta2V5Cg==
YAML

encrypt overlay/settings.enc.json <<'JSON'
{"endpoint": "https://payments.example/api", "apiKey": "pk_test_fixture_0042", "retries": 3}
JSON

printf 'tok-fixture-7f3a9c\n' | encrypt overlay/token.txt
printf '\x30\x82\x01\x0a\xde\xad\xbe\xef\x00\xff' | encrypt overlay/signing.bin

encrypt overlay/app.secret.env <<'ENV'
API_TOKEN=api-fixture-token-5521
SIGNING_SECRET=signing-fixture-secret-9907
SMTP_PASSWORD=smtp-fixture-password-3318
ENV

encrypt full/full.secret.yaml <<'YAML'
apiVersion: v1
kind: Secret
metadata:
  name: everything-encrypted
stringData:
  password: full-fixture-password
YAML

echo "dry-run fixtures re-encrypted for $one and $two"
