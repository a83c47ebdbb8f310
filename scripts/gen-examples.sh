#!/usr/bin/env bash
# Regenerates the encrypted files of examples/overlays/ with the real sops and the TEST ONLY demo
# key (examples/overlays/demo-age-key.txt). The plaintexts live only in this script and in a
# temporary directory that is removed on exit.
set -euo pipefail
source "$(dirname "$0")/sops-encrypt.bash"
cd "$(dirname "$0")/../examples/overlays"
sops="${KSOPS_SOPS:-sops}"
recipient=$(grep -o 'age1[0-9a-z]*' demo-age-key.txt | head -n 1)
plain=$(mktemp -d)
trap 'rm -rf "$plain"' EXIT

sed -i "s/age1[0-9a-z]*/$recipient/" .sops.yaml

encrypt core/secrets/registry.secret.yaml <<'YAML'
apiVersion: v1
kind: Secret
metadata:
  name: registry-credentials
type: kubernetes.io/dockerconfigjson
stringData:
  .dockerconfigjson: '{"auths":{"registry.example.com":{"auth":"ZGVtbzpkZW1v"}}}'
YAML

for env in dev staging prod; do
    encrypt "$env/secrets/database.secret.yaml" <<YAML
apiVersion: v1
kind: Secret
metadata:
  name: database
  annotations:
    kustomize.config.k8s.io/needs-hash: "true"
type: Opaque
stringData:
  username: shop_$env
  password: demo-$env-password
YAML
    encrypt "$env/secrets/app.secret.env" <<ENV
API_TOKEN=demo-$env-token
SIGNING_KEY=demo-$env-signing-key
ENV
done
echo "examples re-encrypted for $recipient"
