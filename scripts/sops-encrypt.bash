# Sourced by the fixture scripts. `encrypt TARGET` reads a plaintext on stdin and writes TARGET
# encrypted by the real sops ("$sops"); the creation rules of the .sops.yaml in the working
# directory pick the recipients and options for TARGET's path. The plaintext is only written
# under "$plain", a temporary directory the caller removes on exit.
encrypt() {
    local target=$1 name
    name=$(basename "$target")
    mkdir -p "$(dirname "$target")"
    cat > "$plain/$name"
    "$sops" encrypt --filename-override "$target" "$plain/$name" > "$target"
}
