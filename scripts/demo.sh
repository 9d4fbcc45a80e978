#!/usr/bin/env bash
# The main job, end to end, through the `nacoscrypt` command: build it, create the default
# keyring, encrypt a sample config, decrypt it back and check it is byte for byte the input.
#
# It keeps everything under target/demo/: the "default" keyring is the command's own default
# (<config dir>/nacoscrypt/keyring) with XDG_CONFIG_HOME pointed at target/demo/config, so your
# real ~/.config is never touched. Running it again reuses that keyring (and works the same).
set -euo pipefail
cd "$(dirname "$0")/.."

demo=target/demo
bin="${CARGO_TARGET_DIR:-target}/debug/nacoscrypt"
export XDG_CONFIG_HOME="$PWD/$demo/config"
unset NACOSCRYPT_KEYRING
keyring="$XDG_CONFIG_HOME/nacoscrypt/keyring"
# The command as the demo prints it.
nacoscrypt() { "$bin" "$@"; }

step() { printf '\n== %s\n' "$*"; }
# Prints a command, then runs it.
show() {
  printf '$ %s\n' "$*"
  "$@"
}
# Prints a command with its output file, then runs it with stdout going there.
show_to() {
  local out=$1
  shift
  printf '$ %s > %s\n' "$*" "$out"
  "$@" >"$out"
}

step "Building the nacoscrypt command (debug build: faster to compile)"
show cargo build --quiet --locked -p nacoscrypt-cli
show nacoscrypt --version

step "The default keyring: \$XDG_CONFIG_HOME/nacoscrypt/keyring (XDG_CONFIG_HOME=$demo/config)"
if [ -e "$keyring" ]; then
  echo "It exists from an earlier run: reusing it."
else
  show nacoscrypt keyring create
fi
show nacoscrypt keyring list
printf 'mode: %s (readable by its owner only)\n' "$(stat -c %a "$keyring" 2>/dev/null || stat -f %Lp "$keyring")"

step "A sample config"
mkdir -p "$demo"
cat >"$demo/db.properties" <<'EOF'
spring.datasource.url=jdbc:mysql://db.internal:3306/orders
spring.datasource.username=orders
spring.datasource.password=s3cret&ünïcode
EOF
show cat "$demo/db.properties"

step "Encrypt it (format nacos: what every Nacos client reads)"
show_to "$demo/db.properties.json" nacoscrypt config encrypt \
  --data-id cipher-kms-aes-256-db.properties --group DEFAULT_GROUP "$demo/db.properties"
show cat "$demo/db.properties.json"

step "Decrypt it back and compare with the input"
show_to "$demo/db.properties.decrypted" nacoscrypt config decrypt "$demo/db.properties.json"
show cmp "$demo/db.properties" "$demo/db.properties.decrypted"
echo "OK: the decrypted config is byte for byte the input."

step "The same through a pipe, in the authenticated v1 format (bound to data ID, group, tenant)"
printf '$ %s\n' "nacoscrypt config encrypt --data-id cipher-kms-aes-128-app.yaml --tenant prod --format v1 <$demo/db.properties | nacoscrypt config decrypt >$demo/app.decrypted"
nacoscrypt config encrypt --data-id cipher-kms-aes-128-app.yaml --tenant prod --format v1 \
  <"$demo/db.properties" | nacoscrypt config decrypt >"$demo/app.decrypted"
show cmp "$demo/db.properties" "$demo/app.decrypted"
echo "OK: equal."

step "Done"
echo "The command: $bin (try it with --help). This demo's files are in $demo/ (delete it to start over)."
echo "Outside the demo, nacoscrypt keeps its keyring in ~/.config/nacoscrypt/keyring (created on"
echo "first use); --keyring PATH or NACOSCRYPT_KEYRING choose another."
