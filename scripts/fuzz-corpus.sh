#!/usr/bin/env bash
# Seeds the fuzz corpora (fuzz/corpus/<target>/, gitignored) from the test fixtures, the
# examples and the small hand-written seeds in fuzz/seeds/<target>/. Safe to re-run: files are
# named by content, so corpora that fuzzing has grown keep their entries.
#
# Targets whose first input byte picks a store (decrypt, metadata) get each file prefixed with
# the index of its store in ksops_fuzz::FORMATS: yaml 0, json 1, dotenv 2, ini 3, binary 4.
set -euo pipefail
cd "$(dirname "$0")/.."

corpus=fuzz/corpus
fixtures=tests/fixtures

# add TARGET PREFIX_BYTE FILE...: copies each file (after the optional prefix byte, given as
# octal digits, or "" for none) into the target's corpus under a content-derived name.
add() {
    local target=$1 prefix=$2
    shift 2
    mkdir -p "$corpus/$target"
    local file tmp
    tmp=$(mktemp)
    for file in "$@"; do
        [ -f "$file" ] || continue
        {
            [ -z "$prefix" ] || printf "\\$prefix"
            cat "$file"
        } >"$tmp"
        cp "$tmp" "$corpus/$target/seed-$(sha1sum "$tmp" | cut -c1-16)"
    done
    rm -f "$tmp"
}

# Encrypted files of each store, as sops wrote them.
yaml_enc=("$fixtures"/generated/*.yaml "$fixtures"/vectors/*.yaml.sops examples/overlays/*/secrets/*.secret.yaml examples/overlays/core/secrets/*.secret.yaml)
json_enc=("$fixtures"/generated/*.json "$fixtures"/vectors/*.json.sops)
dotenv_enc=("$fixtures"/generated/*.env "$fixtures"/vectors/*.dotenv.sops examples/overlays/*/secrets/*.secret.env)
ini_enc=("$fixtures"/generated/*.ini "$fixtures"/vectors/*.ini.sops)
binary_enc=("$fixtures"/generated/*.bin "$fixtures"/vectors/*.binary.sops)
# Plain documents: what the stores emit, and YAML the other parsers read.
plain=("$fixtures"/generated/plain/* "$fixtures"/vectors/*.expected)
yaml_plain=(examples/overlays/*/*.yaml examples/overlays/core/secrets/*.yaml "$fixtures"/krm/*.yaml plugin/argocd/*/*.yaml examples/overlays/.sops.yaml)

add store_yaml "" "${yaml_enc[@]}" "${yaml_plain[@]}" "$fixtures"/generated/plain/*.yaml
add store_json "" "${json_enc[@]}" "$fixtures"/generated/plain/*.json
add store_dotenv "" "${dotenv_enc[@]}" "$fixtures"/generated/plain/*.env
add store_ini "" "${ini_enc[@]}" "$fixtures"/generated/plain/*.ini
add store_binary "" "${binary_enc[@]}" "${json_enc[@]}"

for target in decrypt metadata; do
    add "$target" 000 "${yaml_enc[@]}"
    add "$target" 001 "${json_enc[@]}"
    add "$target" 002 "${dotenv_enc[@]}"
    add "$target" 003 "${ini_enc[@]}"
    add "$target" 004 "${binary_enc[@]}"
done
# decrypt: also each file printed in another store (selector bits 3-5 pick the output).
add decrypt 010 "${yaml_enc[@]}"
add decrypt 021 "${json_enc[@]}"

# enc_value: every ENC[…] value of the fixtures (selector 0: decrypt as is), and plaintexts to
# seal (odd selectors pick the type, in octal: 001 str, 003 int, 005 float, 007 bool, 011 time,
# 013 comment).
mkdir -p "$corpus/enc_value"
grep -rhoa 'ENC\[AES256_GCM,[^]]*\]' "${yaml_enc[@]}" "${json_enc[@]}" "${dotenv_enc[@]}" 2>/dev/null |
    sort -u | awk 'NR <= 200' | while IFS= read -r value; do
    printf '\000%s' "$value" >"$corpus/enc_value/seed-$(printf '%s' "$value" | sha1sum | cut -c1-16)"
done
printf '\001hunter2' >"$corpus/enc_value/seed-str"
printf '\003-5432' >"$corpus/enc_value/seed-int"
printf '\0051.5e300' >"$corpus/enc_value/seed-float"
printf '\007True' >"$corpus/enc_value/seed-bool"
printf '\0112006-01-02T15:04:05.999999999+07:00' >"$corpus/enc_value/seed-time"
printf '\013 a comment' >"$corpus/enc_value/seed-comment"

add generator_config "" examples/overlays/*/secret-generator.yaml examples/overlays/core/secrets/secret-generator.yaml
add resource_list "" "$fixtures"/krm/*.yaml
add envfile "" "$fixtures"/generated/plain/*.env "${plain[@]}"

# Hand-written seeds for syntax the fixtures do not show.
for dir in fuzz/seeds/*/; do
    target=$(basename "$dir")
    add "$target" "" "$dir"*
done

for dir in "$corpus"/*/; do
    printf '%-18s %4d seeds\n' "$(basename "$dir")" "$(find "$dir" -type f | wc -l)"
done
