# Sourced by the C and Python test scripts: starts the loopback Alibaba Cloud test servers once
# (the KMS OpenAPI server kms/aliyun/tests/server/aliyun_test_server.py and the KMS instance API
# server instance_test_server.py), exports their ready lines, and stops them on request.
#
#   source scripts/aliyun-server.sh      # after `set -euo pipefail`
#   aliyun_server_start                  # sets ALIYUN_PY, ALIYUN_SERVER_JSON,
#                                        #      ALIYUN_INSTANCE_PY, ALIYUN_INSTANCE_JSON
#   trap 'aliyun_server_stop; ...' EXIT  # the caller's own trap stops them
#
# Each server exits by itself when its standard input closes, so none outlives the script even
# if the trap does not run.
ALIYUN_SERVER_DIRS=()
ALIYUN_SERVER_PIDS=()

# _aliyun_start PYTHON SCRIPT: starts one server; prints its ready line.
_aliyun_start() {
  local py=$1 script=$2 dir fd
  dir=$(mktemp -d)
  ALIYUN_SERVER_DIRS+=("$dir")
  mkfifo "$dir/stdin"
  "$py" "kms/aliyun/tests/server/$script" --dir "$dir" \
    < "$dir/stdin" > "$dir/ready.json" 2> "$dir/server.log" &
  ALIYUN_SERVER_PIDS+=($!)
  # Hold the write end open (inherited by nothing else): closing it at exit stops the server.
  exec {fd}> "$dir/stdin"
  for _ in $(seq 300); do
    [ -s "$dir/ready.json" ] && break
    sleep 0.1
  done
  [ -s "$dir/ready.json" ] || { cat "$dir/server.log" >&2; echo "$script did not start" >&2; return 1; }
  head -n 1 "$dir/ready.json"
}

aliyun_server_start() {
  ALIYUN_PY=$(bash scripts/aliyun-test-env.sh | tail -n 1)
  ALIYUN_INSTANCE_PY=$(bash scripts/aliyun-instance-test-env.sh | tail -n 1)
  # Not in $( ): the servers must be children of this shell, which holds their stdin.
  _aliyun_start "$ALIYUN_PY" aliyun_test_server.py > /dev/null
  ALIYUN_SERVER_JSON=$(head -n 1 "${ALIYUN_SERVER_DIRS[0]}/ready.json")
  _aliyun_start "$ALIYUN_INSTANCE_PY" instance_test_server.py > /dev/null
  ALIYUN_INSTANCE_JSON=$(head -n 1 "${ALIYUN_SERVER_DIRS[1]}/ready.json")
  export ALIYUN_PY ALIYUN_SERVER_JSON ALIYUN_INSTANCE_PY ALIYUN_INSTANCE_JSON
}

aliyun_server_stop() {
  local pid dir
  for pid in "${ALIYUN_SERVER_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  for dir in "${ALIYUN_SERVER_DIRS[@]}"; do rm -rf "$dir"; done
  return 0
}

# A field of a ready line: aliyun_field kms, or aliyun_field instance "$ALIYUN_INSTANCE_JSON"
aliyun_field() {
  python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "${2:-$ALIYUN_SERVER_JSON}" "$1"
}
