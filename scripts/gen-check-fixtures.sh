#!/usr/bin/env bash
# Regenerates tests/fixtures/check/: small repositories for tests/suite/check.rs, each planting one
# kind of problem for `ksops check` (plus a clean one and a combined one). Encrypted files are
# made by the real sops with throwaway keys (TEST ONLY), so the contents change on every run;
# the layout and the expected findings do not.
#
# Each case directory holds the repository and `expected.json`:
#   {"args": [extra `ksops check` flags], "key": true|false, "exit": code,
#    "findings": [{"rule": id, "file": path relative to the case, "line": n or null}, …]}
# `key: true` runs the check with SOPS_AGE_KEY_FILE=keys/r1.txt. Lines are computed here with
# grep, independently of ksops.
#
# Usage: scripts/gen-check-fixtures.sh   (needs sops 3.11 and age-keygen on PATH; KSOPS_SOPS
# overrides the sops binary)
set -euo pipefail

# shellcheck source=scripts/lib-fixture-cases.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib-fixture-cases.bash"
fixture_setup gen-check-fixtures check "$SOPS" age-keygen

rm -rf "$OUT"
mkdir -p "$OUT/keys"
cd "$OUT"

cat >README.md <<'EOF'
# TEST ONLY: `ksops check` fixture repositories

Made by `scripts/gen-check-fixtures.sh`. Every case directory is a small repository with a
deliberate problem and an `expected.json` listing exactly what `ksops check` must report.
The keys in `keys/` are throwaway test keys that protect nothing but these fixtures.
EOF

newage() { # newage <file>: a fresh identity; prints its recipient
    age-keygen -o "$1" 2>/dev/null
    sed -i '1i # TEST ONLY: throwaway key for ksops check fixtures' "$1"
    age-keygen -y "$1"
}
R1="$(newage keys/r1.txt)"
R2="$(newage keys/r2.txt)"

# sops_in <case> <file>…: encrypt files in place with the case's own .sops.yaml.
sops_in() {
    local dir="$1"
    shift
    for file in "$@"; do
        (cd "$dir" && env -i PATH="$PATH" HOME="$OUT" "$SOPS" encrypt -i "$file")
    done
}

# line <file> <grep -E pattern>: the first matching line number.
line() {
    grep -nE -m1 -- "$2" "$1" | cut -d: -f1
}

# finding <rule> <file> [line]: one JSON finding (line null when not given).
finding() {
    printf '{"rule": "%s", "file": "%s", "line": %s}' "$1" "$2" "${3:-null}"
}

# expect <case> <exit> <key true|false> <args JSON array> [finding…]
expect() {
    local dir="$1" exit="$2" key="$3" args="$4"
    shift 4
    local joined=""
    for f in "$@"; do
        joined="${joined:+$joined,
    }$f"
    done
    cat >"$dir/expected.json" <<EOF
{
  "args": $args,
  "key": $key,
  "exit": $exit,
  "findings": [
    $joined
  ]
}
EOF
}

# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------

sops_config() { # sops_config <dir>: the usual rules, all for R1
    cat >"$1/.sops.yaml" <<EOF
# TEST ONLY recipients.
creation_rules:
  - path_regex: \.enc\.yaml$
    encrypted_regex: ^(data|stringData)$
    age: $R1
  - path_regex: \.enc\.(env|json)$
    age: $R1
  - path_regex: secrets/.*\.bin$
    age: $R1
EOF
}

base() { # base <dir>: a Deployment and a ConfigMap (nothing secret)
    mkdir -p "$1/base"
    cat >"$1/base/kustomization.yaml" <<'EOF'
resources:
  - deployment.yaml
  - configmap.yaml
EOF
    cat >"$1/base/deployment.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  selector:
    matchLabels: {app: shop}
  template:
    metadata:
      labels: {app: shop}
    spec:
      containers:
        - name: shop
          image: example.com/shop:1.0
          envFrom:
            - secretRef: {name: app-env}
EOF
    cat >"$1/base/configmap.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: shop-settings
data:
  LOG_LEVEL: info
  password_policy: strict
EOF
}

db_secret() { # db_secret <file>: a Secret manifest, in clear
    mkdir -p "$(dirname "$1")"
    cat >"$1" <<'EOF'
apiVersion: v1
kind: Secret
metadata:
  name: database
  annotations:
    kustomize.config.k8s.io/needs-hash: "true"
type: Opaque
stringData:
  username: shop
  password: TEST-ONLY-not-a-real-password
EOF
}

app_env() { # app_env <file>: dotenv values, in clear
    mkdir -p "$(dirname "$1")"
    printf 'API_TOKEN=TEST-ONLY-token\nFEATURE_FLAGS=a,b\n' >"$1"
}

legacy_generator() { # legacy_generator <file> <name> <files entry> <envs entry>
    cat >"$1" <<EOF
apiVersion: viaduct.ai/v1
kind: ksops
metadata:
  name: $2
files:
  - $3
secretFrom:
  - metadata:
      name: app-env
    type: Opaque
    envs:
      - $4
EOF
}

overlay() { # overlay <dir> <db file> <env file>: an overlay with a legacy ksops generator
    mkdir -p "$1"
    cat >"$1/kustomization.yaml" <<'EOF'
resources:
  - ../../base
generators:
  - secret-generator.yaml
EOF
    legacy_generator "$1/secret-generator.yaml" dev-secrets "$2" "$3"
}

prepend_rule() { # prepend_rule <dir> <rule lines>: make it the first creation rule
    awk -v rule="$2" '{ print } /^creation_rules:$/ { print rule }' "$1/.sops.yaml" >"$1/.sops.yaml.new"
    mv "$1/.sops.yaml.new" "$1/.sops.yaml"
}

# repo <case>: .sops.yaml, base, and overlays/dev with its encrypted files (all clean).
repo() {
    mkdir -p "$1"
    sops_config "$1"
    base "$1"
    overlay "$1/overlays/dev" secrets/db.enc.yaml secrets/app.enc.env
    db_secret "$1/overlays/dev/secrets/db.enc.yaml"
    app_env "$1/overlays/dev/secrets/app.enc.env"
    sops_in "$1" overlays/dev/secrets/db.enc.yaml overlays/dev/secrets/app.enc.env
}

# --------------------------------------------------------------------------------------------
# clean: every rule satisfied, with the allowed look-alikes of each problem
# --------------------------------------------------------------------------------------------
repo clean
cat >>clean/overlays/dev/secret-generator.yaml <<'EOF'
    files:
      - config.json=secrets/config.enc.json
    binaryFiles:
      - tls.key=secrets/tls.bin
EOF
printf '{"endpoint": "https://example.com", "token": "TEST-ONLY"}\n' >clean/overlays/dev/secrets/config.enc.json
printf 'TEST ONLY binary secret\n' >clean/overlays/dev/secrets/tls.bin
sops_in clean overlays/dev/secrets/config.enc.json overlays/dev/secrets/tls.bin
cat >clean/overlays/dev/kustomization.yaml <<'EOF'
resources:
  - ../../base
  - templated-secret.yaml
  - allowed-secret.yaml
generators:
  - secret-generator.yaml
secretGenerator:
  - name: from-ci
    literals:
      - token=${CI_TOKEN}
      - empty=
EOF
cat >clean/overlays/dev/templated-secret.yaml <<'EOF'
# Values filled in at deploy time are not secrets in the repository.
apiVersion: v1
kind: Secret
metadata:
  name: templated
stringData:
  password: ${DB_PASSWORD}
  url: postgres://shop:${DB_PASSWORD}@db:5432/shop
data:
  token: '{{ .Values.token | b64enc }}'
  vault: <path:kv/data/shop#token>
  empty: ""
EOF
cat >clean/overlays/dev/allowed-secret.yaml <<'EOF'
apiVersion: v1
kind: Secret
metadata:
  name: demo-only
  annotations:
    ksops.dev/allow-plaintext: "public demo credentials, documented in the README"
stringData:
  username: demo
  password: demo
EOF
# A KRM-style generator is fine unless a host that skips it is named.
mkdir -p clean/overlays/krm
cat >clean/overlays/krm/kustomization.yaml <<'EOF'
resources:
  - ../../base
generators:
  - generator.yaml
EOF
cat >clean/overlays/krm/generator.yaml <<'EOF'
apiVersion: viaduct.ai/v1
kind: ksops
metadata:
  name: krm-secrets
  annotations:
    config.kubernetes.io/function: |
      exec:
        path: ksops
files:
  - secrets/db.enc.yaml
EOF
mkdir -p clean/overlays/krm/secrets
cp clean/overlays/dev/secrets/db.enc.yaml clean/overlays/krm/secrets/db.enc.yaml
# A nested .sops.yaml governs its own directory, with paths relative to it (a rule anchored
# at `^secrets/` there matches overlays/prod/secrets/…), here with a second recipient.
mkdir -p clean/overlays/prod/secrets
cat >clean/overlays/prod/.sops.yaml <<EOF
creation_rules:
  - path_regex: ^secrets/.*\.yaml$
    encrypted_regex: ^(data|stringData)$
    age: $R2,$R1
EOF
db_secret clean/overlays/prod/secrets/db.yaml
sops_in clean/overlays/prod secrets/db.yaml
cat >clean/overlays/prod/kustomization.yaml <<'EOF'
resources:
  - ../../base
generators:
  - secret-generator.yaml
EOF
legacy_generator clean/overlays/prod/secret-generator.yaml prod-secrets secrets/db.yaml ../dev/secrets/app.enc.env
sed -i '/^secretFrom:/,$d' clean/overlays/prod/secret-generator.yaml
# Empty placeholders are not secrets.
touch clean/overlays/prod/secrets/.gitkeep
# Decrypted working copies are ignored by git, so they are not findings (tests/suite/check.rs adds one).
printf '*.dec.yaml\n' >clean/.gitignore
printf '# Shop deployment\n\nSecrets live in overlays/*/secrets, encrypted with sops.\n' >clean/README.md
expect clean 0 false '[]'

# A Flux-style catch-all (`path_regex: .*\.yaml` with encrypted_regex) asks for no file to be
# encrypted: ordinary manifests and ConfigMaps are fine, encrypted Secrets are checked for drift.
mkdir -p clean-catch-all
cat >clean-catch-all/.sops.yaml <<EOF
creation_rules:
  - path_regex: .*\.yaml
    encrypted_regex: ^(data|stringData)$
    age: $R1
EOF
base clean-catch-all
db_secret clean-catch-all/base/secret.yaml
sops_in clean-catch-all base/secret.yaml
sed -i 's|  - configmap.yaml|  - configmap.yaml\n  - secret.yaml|' clean-catch-all/base/kustomization.yaml
expect clean-catch-all 0 false '[]'

# --------------------------------------------------------------------------------------------
# One rule each
# --------------------------------------------------------------------------------------------

# A file matched by a creation rule, committed in clear (not read by any generator). It is a
# Secret too, but is reported once, as unencrypted-file.
repo unencrypted-file
db_secret unencrypted-file/overlays/dev/secrets/extra.enc.yaml
expect unencrypted-file 1 false '[]' \
    "$(finding unencrypted-file overlays/dev/secrets/extra.enc.yaml)"

# A generator reading a plaintext file no creation rule covers.
repo unencrypted-reference
app_env unencrypted-reference/overlays/dev/secrets/local.env
sed -i 's|secrets/app.enc.env|secrets/local.env|' unencrypted-reference/overlays/dev/secret-generator.yaml
rm unencrypted-reference/overlays/dev/secrets/app.enc.env
expect unencrypted-reference 1 false '[]' \
    "$(finding unencrypted-file overlays/dev/secrets/local.env)"

# An encrypted file with a value added in clear afterwards.
repo partially-encrypted
f=partially-encrypted/overlays/dev/secrets/db.enc.yaml
sed -i '/^stringData:$/a\    added: TEST-ONLY-added-in-clear' "$f"
expect partially-encrypted 1 false '[]' \
    "$(finding unencrypted-file overlays/dev/secrets/db.enc.yaml "$(line "$f" '^    added:')")"

# A plaintext Secret among the resources (YAML, second document) and one in JSON.
repo plaintext-secret
cat >plaintext-secret/base/secret.yaml <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: harmless
data:
  key: value
---
apiVersion: v1
kind: Secret
metadata:
  name: leaked
data:
  password: VEVTVC1PTkxZ
EOF
cat >plaintext-secret/base/secret.json <<'EOF'
{
  "apiVersion": "v1",
  "kind": "Secret",
  "metadata": {"name": "leaked-json"},
  "stringData": {
    "token": "TEST-ONLY-token"
  }
}
EOF
sed -i 's|  - configmap.yaml|  - configmap.yaml\n  - secret.yaml\n  - secret.json|' plaintext-secret/base/kustomization.yaml
cat >>plaintext-secret/base/kustomization.yaml <<'EOF'
patches:
  - patch: |-
      apiVersion: v1
      kind: Secret
      metadata:
        name: leaked
      stringData:
        extra: TEST-ONLY-inline
EOF
expect plaintext-secret 1 false '[]' \
    "$(finding plaintext-secret base/kustomization.yaml "$(line plaintext-secret/base/kustomization.yaml '^  - patch:')")" \
    "$(finding plaintext-secret base/secret.json "$(line plaintext-secret/base/secret.json '"token"')")" \
    "$(finding plaintext-secret base/secret.yaml "$(line plaintext-secret/base/secret.yaml '^  password:')")"

# kustomize secretGenerator with literals and with a plaintext file.
repo plaintext-literals
k=plaintext-literals/overlays/dev/kustomization.yaml
cat >>"$k" <<'EOF'
secretGenerator:
  - name: inline
    literals:
      - user=shop
      - password=TEST-ONLY-literal
  - name: from-file
    files:
      - credentials.txt
EOF
printf 'TEST-ONLY-file-credential\n' >plaintext-literals/overlays/dev/credentials.txt
expect plaintext-literals 1 false '[]' \
    "$(finding plaintext-secret overlays/dev/kustomization.yaml "$(line "$k" '- user=shop')")" \
    "$(finding plaintext-secret overlays/dev/kustomization.yaml "$(line "$k" '- credentials.txt')")"

# A generator naming a file that does not exist, and a generators entry naming nothing.
repo missing-file
g=missing-file/overlays/dev/secret-generator.yaml
sed -i 's|secrets/db.enc.yaml|secrets/missing.enc.yaml|' "$g"
rm missing-file/overlays/dev/secrets/db.enc.yaml
k=missing-file/overlays/dev/kustomization.yaml
sed -i 's|  - secret-generator.yaml|  - secret-generator.yaml\n  - removed-generator.yaml|' "$k"
expect missing-file 1 false '[]' \
    "$(finding missing-file overlays/dev/kustomization.yaml "$(line "$k" 'removed-generator.yaml')")" \
    "$(finding missing-file overlays/dev/secret-generator.yaml "$(line "$g" 'missing.enc.yaml')")"

# An encrypted file nothing reads (its Secret never deploys), beside one a pattern reads.
repo unreferenced-encrypted-file
u=unreferenced-encrypted-file/overlays/dev
sed -i 's|  - secrets/db.enc.yaml|  - secrets/*.enc.yaml|' "$u/secret-generator.yaml"
db_secret "$u/secrets/cache.enc.yaml"
sed -i 's|name: database|name: cache|' "$u/secrets/cache.enc.yaml"
db_secret "$u/secrets/old/legacy.enc.yaml"
sops_in unreferenced-encrypted-file overlays/dev/secrets/cache.enc.yaml \
    overlays/dev/secrets/old/legacy.enc.yaml
expect unreferenced-encrypted-file 1 false '[]' \
    "$(finding unreferenced-encrypted-file overlays/dev/secrets/old/legacy.enc.yaml)"

# A generator reaching outside its kustomization directory (the file exists and is encrypted).
repo outside-root
mkdir -p outside-root/shared
mv outside-root/overlays/dev/secrets/db.enc.yaml outside-root/shared/db.enc.yaml
g=outside-root/overlays/dev/secret-generator.yaml
sed -i 's|secrets/db.enc.yaml|../../shared/db.enc.yaml|' "$g"
expect outside-root 1 false '[]' \
    "$(finding outside-root overlays/dev/secret-generator.yaml "$(line "$g" 'shared/db.enc.yaml')")"

# A generator config ksops refuses (a misplaced field).
repo invalid-generator
g=invalid-generator/overlays/dev/secret-generator.yaml
sed -i 's|^files:|file:|' "$g"
expect invalid-generator 1 false '[]' \
    "$(finding invalid-generator overlays/dev/secret-generator.yaml 1)"

# A KRM exec function generator, which `kubectl kustomize` silently skips.
repo skipped-generator
g=skipped-generator/overlays/dev/secret-generator.yaml
sed -i 's|^  name: dev-secrets$|  name: dev-secrets\n  annotations:\n    config.kubernetes.io/function: \|\n      exec:\n        path: ksops|' "$g"
expect skipped-generator 1 false '["--host", "kubectl"]' \
    "$(finding skipped-generator overlays/dev/secret-generator.yaml "$(line "$g" 'config.kubernetes.io/function')")"

# Legacy generators whose apiVersion/kind has no entry in the plugin home ksops installs:
# kubectl (and kustomize) fail to find their plugin. `viaduct.ai/v2` `ksops` has an entry.
repo missing-plugin
g=missing-plugin/overlays/dev/secret-generator.yaml
sed -i 's|^apiVersion: viaduct.ai/v1$|apiVersion: viaduct.ai/v2|; s|^kind: ksops$|kind: ksops-exec|' "$g"
sed -i 's|  - secret-generator.yaml|  - secret-generator.yaml\n  - v2-generator.yaml\n  - typo-generator.yaml|' \
    missing-plugin/overlays/dev/kustomization.yaml
for variant in "v2-generator viaduct.ai/v2 ksops v2" "typo-generator viaduct.ai/v1 KSOPS typo"; do
    set -- $variant
    cat >"missing-plugin/overlays/dev/$1.yaml" <<EOF
apiVersion: $2
kind: $3
metadata:
  name: $4-secrets
secretFrom:
  - metadata:
      name: $4-env
    envs:
      - secrets/app.enc.env
EOF
done
expect missing-plugin 1 false '["--host", "kubectl"]' \
    "$(finding missing-plugin overlays/dev/secret-generator.yaml "$(line "$g" '^apiVersion:')")" \
    "$(finding missing-plugin overlays/dev/typo-generator.yaml "$(line missing-plugin/overlays/dev/typo-generator.yaml '^kind: KSOPS')")"

# A kustomization that is not YAML.
repo invalid-kustomization
printf 'resources:\n  - ../../base\ngenerators: [secret-generator.yaml\n' >invalid-kustomization/overlays/dev/kustomization.yaml
expect invalid-kustomization 1 false '[]' \
    "$(finding invalid-kustomization overlays/dev/kustomization.yaml)"

# A creation rule sops refuses: its path_regex does not compile.
repo invalid-sops-config
cat >>invalid-sops-config/.sops.yaml <<EOF
  - path_regex: legacy/(.*\.yaml$
    age: $R1
EOF
expect invalid-sops-config 1 false '[]' \
    "$(finding invalid-sops-config .sops.yaml "$(line invalid-sops-config/.sops.yaml 'legacy/')")"

# Placeholders instead of recipients (the files were encrypted before the config was edited;
# drift is not reported against rules that cannot be used).
repo invalid-recipient
sed -i "0,/age: $R1/s//age: age1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/" invalid-recipient/.sops.yaml
cat >>invalid-recipient/.sops.yaml <<'EOF'
  - path_regex: \.enc\.ini$
    key_groups:
      - age:
          - <your-age-public-key>
EOF
expect invalid-recipient 1 false '[]' \
    "$(finding invalid-recipient .sops.yaml "$(line invalid-recipient/.sops.yaml 'age1xxxx')")" \
    "$(finding invalid-recipient .sops.yaml "$(line invalid-recipient/.sops.yaml '<your-age-public-key>')")"

# Files not re-encrypted after the rules changed: R2 added to one rule, R1 replaced in another.
repo recipient-drift
sed -i "0,/age: $R1/s//age: $R1,$R2/" recipient-drift/.sops.yaml
sed -i "0,/    age: $R1\$/s//    age: $R2/" recipient-drift/.sops.yaml
expect recipient-drift 1 false '[]' \
    "$(finding recipient-drift overlays/dev/secrets/app.enc.env)" \
    "$(finding recipient-drift overlays/dev/secrets/db.enc.yaml)"

# --decrypt: a MAC that no longer matches (a clear value edited) and a file for another key.
repo decrypt-failed
prepend_rule decrypt-failed "  - path_regex: ^other\\.enc\\.json\$
    age: $R2"
printf '{"token": "TEST-ONLY"}\n' >decrypt-failed/other.enc.json
sops_in decrypt-failed other.enc.json
sed -i 's|^    name: database$|    name: database-renamed|' decrypt-failed/overlays/dev/secrets/db.enc.yaml
expect decrypt-failed 1 true '["--decrypt"]' \
    "$(finding decrypt-failed other.enc.json)" \
    "$(finding decrypt-failed overlays/dev/secrets/db.enc.yaml)"

# --------------------------------------------------------------------------------------------
# combined: several problems in one repository
# --------------------------------------------------------------------------------------------
repo combined
db_secret combined/overlays/dev/secrets/forgotten.enc.yaml
g=combined/overlays/dev/secret-generator.yaml
sed -i 's|secrets/app.enc.env|secrets/app.enc.env\n      - secrets/gone.enc.env|' "$g"
cat >combined/base/debug-secret.yaml <<'EOF'
apiVersion: v1
kind: Secret
metadata:
  name: debug
stringData:
  token: TEST-ONLY-debug-token
EOF
cat >>combined/.sops.yaml <<'EOF'
  - path_regex: ^prod/
    pgp: YOUR_PGP_FINGERPRINT
EOF
expect combined 1 false '[]' \
    "$(finding invalid-recipient .sops.yaml "$(line combined/.sops.yaml 'YOUR_PGP_FINGERPRINT')")" \
    "$(finding plaintext-secret base/debug-secret.yaml "$(line combined/base/debug-secret.yaml '^  token:')")" \
    "$(finding missing-file overlays/dev/secret-generator.yaml "$(line "$g" 'gone.enc.env')")" \
    "$(finding unencrypted-file overlays/dev/secrets/forgotten.enc.yaml)"

echo "gen-check-fixtures: wrote $(find "$OUT" -name expected.json | wc -l) cases to $OUT"
