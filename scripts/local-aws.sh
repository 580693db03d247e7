#!/usr/bin/env bash
# Start, stop and inspect the local AWS emulator: moto plus the ceap-templates compat layer, on
# 127.0.0.1 only. `start` prints the environment a shell can eval; see --help.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE_DIR=${CEAP_LOCAL_AWS_DIR:-$ROOT/.local-aws}
REQUIREMENTS=$ROOT/scripts/local-aws-requirements.txt
START_TIMEOUT=${CEAP_LOCAL_AWS_START_TIMEOUT:-60}
PORT=${CEAP_LOCAL_AWS_PORT:-4566}
DRY_RUN=0
COMPAT_FLAG=()

usage() {
  cat <<EOF
Usage: scripts/local-aws.sh COMMAND [--port N] [--dry-run] [--yes] [--no-compat]

The local AWS emulator for deploy rehearsals without an account: moto 5.2.5 with the project's
compat layer (src/ceap_templates/local_aws/), listening on 127.0.0.1 only.

Commands:
  start    start the emulator in the background, wait until it answers, and print on stdout the
           lines to eval (AWS_ENDPOINT_URL=http://127.0.0.1:N, dummy credentials, us-east-1):
               eval "\$(scripts/local-aws.sh start)"
           Idempotent: when it already runs on that port, prints the same lines and exits 0.
           The first start installs its environment in .local-aws/venv (pinned versions:
           scripts/local-aws-requirements.txt, plus this project). CEAP_LOCAL_AWS_PYTHON=<python>
           uses an interpreter that already has them instead (tox's test environment does).
  stop     stop the emulator of that port by its PID (.local-aws/emulator-N.pid); nothing else.
  status   say whether it runs on that port (exit 0 if it runs, 3 if not).

Options:
  --port N     TCP port on 127.0.0.1 (default 4566, or CEAP_LOCAL_AWS_PORT)
  --dry-run    say what would be done, change nothing
  --yes        accepted for symmetry with the other scripts (nothing here asks for confirmation)
  --no-compat  start stock moto without the compat layer (to reproduce a gap)
  -h, --help   this help

Clients: the aws CLI (v1 is in .local-aws/venv/bin/aws) and boto3 follow AWS_ENDPOINT_URL, except
awscli v1's 'sqs' commands in us-east-1, which need --endpoint-url "\$AWS_ENDPOINT_URL".
Errors (busy port, second start on a busy port, stop with nothing running, missing dependency)
are one line on stderr and a non-zero exit. The log is .local-aws/emulator-N.log; Lambda packages
are unzipped under .local-aws/lambda-cache. CEAP_LOCAL_AWS_DIR moves that folder elsewhere.
EOF
}

fail() {
  echo "local-aws: error: $1" >&2
  exit "${2:-1}"
}

pid_file() { echo "$STATE_DIR/emulator-$PORT.pid"; }
log_file() { echo "$STATE_DIR/emulator-$PORT.log"; }

# The process exists and is not a zombie (an exited emulator whose parent has not reaped it yet).
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [[ $(ps -o stat= -p "$1" 2>/dev/null) != Z* ]]
}

# The PID belongs to an emulator process (guards against a PID reused by another program).
is_emulator() {
  local args
  args=$(ps -p "$1" -o args= 2>/dev/null || true)
  [[ $args == *ceap_templates.local_aws* ]]
}

# Something accepts connections on 127.0.0.1:PORT.
port_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

running_pid() {
  local file pid
  file=$(pid_file)
  [[ -f $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" && is_emulator "$pid" || return 1
  echo "$pid"
}

print_env() {
  cat <<EOF
export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_DEFAULT_REGION=us-east-1
export AWS_REGION=us-east-1
export AWS_DISABLE_HOST_PREFIX_INJECTION=true
unset AWS_SESSION_TOKEN AWS_PROFILE
EOF
}

requirements_stamp() {
  cat "$REQUIREMENTS" "$ROOT/setup.cfg" | "$1" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'
}

# Echo the interpreter that runs the emulator, installing .local-aws/venv when needed.
emulator_python() {
  if [[ -n ${CEAP_LOCAL_AWS_PYTHON:-} ]]; then
    [[ -x $CEAP_LOCAL_AWS_PYTHON ]] || fail "CEAP_LOCAL_AWS_PYTHON=$CEAP_LOCAL_AWS_PYTHON is not an executable interpreter"
    "$CEAP_LOCAL_AWS_PYTHON" -c 'import moto, werkzeug, aws_lambda_powertools, ceap_templates.local_aws' 2>/dev/null ||
      fail "CEAP_LOCAL_AWS_PYTHON=$CEAP_LOCAL_AWS_PYTHON lacks moto, aws-lambda-powertools or ceap-templates (install $REQUIREMENTS and the project into it)"
    echo "$CEAP_LOCAL_AWS_PYTHON"
    return
  fi
  local venv=$STATE_DIR/venv base=${CEAP_LOCAL_AWS_BASE_PYTHON:-python3}
  command -v "$base" >/dev/null || fail "$base not found: Python 3.11+ is needed to install the emulator"
  "$base" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || fail "$base is older than Python 3.11"
  local want
  want=$(requirements_stamp "$base")
  if [[ -x $venv/bin/python && -f $venv/.installed && $(<"$venv/.installed") == "$want" ]]; then
    echo "$venv/bin/python"
    return
  fi
  echo "local-aws: installing the emulator environment in $venv (pinned: $REQUIREMENTS)" >&2
  rm -rf "$venv"
  mkdir -p "$STATE_DIR"
  {
    "$base" -m venv "$venv" &&
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS" &&
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT"
  } >"$STATE_DIR/install.log" 2>&1 || {
    rm -rf "$venv"
    fail "installing the emulator environment failed: see $STATE_DIR/install.log"
  }
  echo "$want" >"$venv/.installed.tmp" && mv "$venv/.installed.tmp" "$venv/.installed"
  echo "$venv/bin/python"
}

cmd_start() {
  local pid file log
  file=$(pid_file)
  log=$(log_file)
  if pid=$(running_pid); then
    echo "local-aws: already running on http://127.0.0.1:$PORT (PID $pid)" >&2
    print_env
    return 0
  fi
  if port_answers; then
    fail "port $PORT on 127.0.0.1 is busy (another process listens there); choose another with --port"
  fi
  if ((DRY_RUN)); then
    echo "local-aws: would start the emulator on http://127.0.0.1:$PORT (PID file $file)" >&2
    return 0
  fi
  local python
  python=$(emulator_python)
  mkdir -p "$STATE_DIR"
  rm -f "$file"
  local started=$SECONDS
  CEAP_LOCAL_AWS_LAMBDA_CACHE=${CEAP_LOCAL_AWS_LAMBDA_CACHE:-$STATE_DIR/lambda-cache} \
    "$python" -m ceap_templates.local_aws --port "$PORT" "${COMPAT_FLAG[@]}" </dev/null >"$log" 2>&1 &
  pid=$!
  # Interrupted while waiting: stop the child, leave no PID file.
  trap 'kill "$pid" 2>/dev/null || true; rm -f "$file.tmp"; exit 130' INT TERM
  while ! grep -q '^local-aws: listening on' "$log" 2>/dev/null; do
    if ! alive "$pid"; then
      wait "$pid" 2>/dev/null || true
      trap - INT TERM
      fail "the emulator exited during start-up: $(grep -v '^\s*$' "$log" | tail -n 1)"
    fi
    if ((SECONDS - started > START_TIMEOUT)); then
      kill "$pid" 2>/dev/null || true
      trap - INT TERM
      fail "the emulator did not answer within ${START_TIMEOUT}s (log: $log)"
    fi
    sleep 0.1
  done
  echo "$pid" >"$file.tmp" && mv "$file.tmp" "$file"
  trap - INT TERM
  echo "local-aws: started on http://127.0.0.1:$PORT (PID $pid, log $log)" >&2
  print_env
}

cmd_stop() {
  local file pid
  file=$(pid_file)
  [[ -f $file ]] || fail "no emulator running on port $PORT (no PID file $file)"
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] || fail "$file does not hold a PID; remove it"
  if ! alive "$pid"; then
    rm -f "$file"
    fail "no emulator running on port $PORT (PID $pid had exited; stale PID file removed)"
  fi
  is_emulator "$pid" || fail "PID $pid of $file is not the emulator: not stopping it (remove the file if it is stale)"
  if ((DRY_RUN)); then
    echo "local-aws: would stop PID $pid (port $PORT)" >&2
    return 0
  fi
  kill -TERM "$pid"
  local waited=0
  while alive "$pid" && ((waited < 100)); do
    sleep 0.1
    waited=$((waited + 1))
  done
  alive "$pid" && kill -KILL "$pid" 2>/dev/null
  rm -f "$file"
  echo "local-aws: stopped PID $pid (port $PORT)" >&2
}

cmd_status() {
  local pid
  if pid=$(running_pid); then
    echo "local-aws: running on http://127.0.0.1:$PORT (PID $pid)"
    return 0
  fi
  echo "local-aws: not running on port $PORT"
  return 3
}

main() {
  local command=""
  while (($#)); do
    case $1 in
      -h | --help)
        usage
        return 0
        ;;
      --port)
        [[ $# -ge 2 && $2 =~ ^[0-9]+$ && $2 -ge 1 && $2 -le 65535 ]] || fail "--port needs a number 1-65535" 2
        PORT=$2
        shift
        ;;
      --port=*)
        PORT=${1#--port=}
        [[ $PORT =~ ^[0-9]+$ && $PORT -ge 1 && $PORT -le 65535 ]] || fail "--port needs a number 1-65535" 2
        ;;
      --dry-run) DRY_RUN=1 ;;
      --yes) ;;
      --no-compat) COMPAT_FLAG=(--no-compat) ;;
      start | stop | status)
        [[ -z $command ]] || fail "one command at a time (got '$command' and '$1')" 2
        command=$1
        ;;
      *) fail "unknown argument '$1'; allowed: start, stop, status, --port N, --dry-run, --yes, --no-compat, --help" 2 ;;
    esac
    shift
  done
  [[ -n $command ]] || fail "a command is needed: start, stop or status (see --help)" 2
  "cmd_$command"
}

main "$@"
