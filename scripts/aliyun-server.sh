# Sourced by the C and Python test scripts: starts the loopback Alibaba Cloud KMS test server
# (kms/aliyun/tests/server/aliyun_test_server.py) once, exports its ready line, and stops it when
# the calling script exits.
#
#   source scripts/aliyun-server.sh      # after `set -euo pipefail`
#   aliyun_server_start                  # sets ALIYUN_PY, ALIYUN_SERVER_DIR, ALIYUN_SERVER_JSON
#   trap 'aliyun_server_stop; ...' EXIT  # the caller's own trap stops it
#
# The server exits by itself when its standard input closes, so it never outlives the script
# even if the trap does not run.
aliyun_server_start() {
  ALIYUN_PY=$(bash scripts/aliyun-test-env.sh | tail -n 1)
  ALIYUN_SERVER_DIR=$(mktemp -d)
  mkfifo "$ALIYUN_SERVER_DIR/stdin"
  "$ALIYUN_PY" kms/aliyun/tests/server/aliyun_test_server.py --dir "$ALIYUN_SERVER_DIR" \
    < "$ALIYUN_SERVER_DIR/stdin" > "$ALIYUN_SERVER_DIR/ready.json" 2> "$ALIYUN_SERVER_DIR/server.log" &
  ALIYUN_SERVER_PID=$!
  # Hold the write end open: closing it (at exit) stops the server.
  exec {ALIYUN_SERVER_FD}> "$ALIYUN_SERVER_DIR/stdin"
  for _ in $(seq 300); do
    [ -s "$ALIYUN_SERVER_DIR/ready.json" ] && break
    kill -0 "$ALIYUN_SERVER_PID" 2>/dev/null || { cat "$ALIYUN_SERVER_DIR/server.log" >&2; return 1; }
    sleep 0.1
  done
  ALIYUN_SERVER_JSON=$(head -n 1 "$ALIYUN_SERVER_DIR/ready.json")
  [ -n "$ALIYUN_SERVER_JSON" ] || { echo "the test server did not start" >&2; return 1; }
  export ALIYUN_PY ALIYUN_SERVER_DIR ALIYUN_SERVER_JSON
}

aliyun_server_stop() {
  if [ -n "${ALIYUN_SERVER_FD:-}" ]; then exec {ALIYUN_SERVER_FD}>&-; fi
  if [ -n "${ALIYUN_SERVER_PID:-}" ]; then
    kill "$ALIYUN_SERVER_PID" 2>/dev/null || true
    wait "$ALIYUN_SERVER_PID" 2>/dev/null || true
  fi
  [ -n "${ALIYUN_SERVER_DIR:-}" ] && rm -rf "$ALIYUN_SERVER_DIR"
  return 0
}

# A field of the ready line: aliyun_field kms
aliyun_field() {
  python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$ALIYUN_SERVER_JSON" "$1"
}
