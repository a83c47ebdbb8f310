# Shared by the fixture scripts (sourced first): $ROOT (the repository), $SOPS (the sops
# binary, KSOPS_SOPS overrides it), the set-up they all start with, and case files for
# tests/suite (format documented at the top of scripts/gen-fixtures.sh). The case functions
# expect $OUT (the fixture directory, also the working directory) and $WORK (a scratch
# directory), as fixture_setup sets them.

# shellcheck disable=SC2034 # Used by the scripts that source this file.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SOPS="${KSOPS_SOPS:-sops}"

# fixture_setup <script name> <directory under tests/fixtures> <tool…>: exit, naming the tool,
# when one is not on PATH; set $OUT to the fixture directory and $WORK to a fresh scratch
# directory, removed on exit (a script that sets its own EXIT trap removes it there).
fixture_setup() {
    local script="$1" tool
    OUT="$ROOT/tests/fixtures/$2"
    shift 2
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "$script: missing tool: $tool" >&2; exit 1; }
    done
    WORK="$(mktemp -d)"
    trap 'rm -rf "$WORK"' EXIT
}

# case_file <name> <directive lines…>: write <name>.case.
case_file() {
    local name="$1"
    shift
    printf '%s\n' "$@" >"$name.case"
    decrypt_case "$name"
}

# decrypt_case <name>: run `sops decrypt` the way the Rust test runs ksops, write <name>.expected
# on success and check the exit code.
decrypt_case() {
    local name="$1" file="" args="" want=0 cwd="." line key val
    local home
    home="$(mktemp -d "$WORK/home.XXXXXX")"
    local -a envs=(PATH="$PATH" HOME="$home")
    while IFS= read -r line || [ -n "$line" ]; do
        case "$line" in '' | '#'*) continue ;; esac
        key="${line%%=*}"
        val="${line#*=}"
        case "$key" in
        FILE) file="$val" ;;
        ARGS) args="$val" ;;
        EXIT) want="$val" ;;
        CWD) cwd="$val" ;;
        SOPS_AGE_KEY_FILE | SOPS_AGE_SSH_PRIVATE_KEY_FILE) envs+=("$key=$OUT/$val") ;;
        SOPS_AGE_KEY) envs+=("$key=$(cat "$OUT/${val#@}")") ;;
        SOPS_AGE_KEY_CMD) envs+=("$key=$val") ;;
        HOME_FILE)
            mkdir -p "$(dirname "$home/${val%%:*}")"
            install -m 600 "$OUT/${val#*:}" "$home/${val%%:*}"
            ;;
        XDG_CONFIG_HOME) envs+=("$key=$home/$val") ;;
        *) echo "gen-fixtures: $name.case: unknown directive $key" >&2; exit 1 ;;
        esac
    done <"$name.case"
    [ -n "$file" ] || { echo "gen-fixtures: $name.case: no FILE" >&2; exit 1; }
    local rc=0
    # shellcheck disable=SC2086 # ARGS is a space-separated flag list by design.
    (cd "$OUT/$cwd" && env -i "${envs[@]}" "$SOPS" decrypt $args "$OUT/$file") \
        >"$WORK/out" 2>"$WORK/err" || rc=$?
    if [ "$rc" != "$want" ]; then
        echo "gen-fixtures: case $name: sops exited $rc, expected $want" >&2
        sed 's/^/    /' "$WORK/err" >&2
        exit 1
    fi
    if [ "$want" = 0 ]; then
        cp "$WORK/out" "$name.expected"
    fi
}
