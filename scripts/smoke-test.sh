#!/usr/bin/env bash
# Send one request through a deployed pipeline and follow it to each stage's S3 output.
set -euo pipefail
SCRIPT_NAME=smoke-test.sh
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: scripts/smoke-test.sh ENV [--workflow NAME] [--request FILE] [--timeout SECONDS] [--dry-run]

Without --workflow: starts the batch ingestion state machine of build/ENV for the first
scheduled program (the schedule rule's first target) and follows the execution.
With --workflow NAME: sends one request to the workflow's queue (the pipe starts the
machine); for an express workflow also runs one direct synchronous execution.
Each run is followed to every stage's output, s3://BUCKET/executions/<execution>/<stage>/output.json
(express executions cannot be listed: the outputs are followed), and to the Candidates items
the Store stage reports. Prints them. Exit 0 when every stage wrote its output, 1 naming
the first stage that failed or produced nothing, 2 on bad input.
  --request FILE   the request JSON to send (default: the scheduled program, today's date)
  --timeout S      how long to wait for the outputs (default 300)
  --build DIR      build folder (default: build/ of the project)
EOF
}

ENV_NAME="" WORKFLOW="" REQUEST_FILE="" TIMEOUT=300
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --workflow) [[ $# -ge 2 ]] || die "--workflow needs a name"; WORKFLOW="$2"; shift 2 ;;
    --request) [[ $# -ge 2 ]] || die "--request needs a file"; REQUEST_FILE="$2"; shift 2 ;;
    --timeout) [[ "${2:-}" =~ ^[0-9]+$ ]] || die "--timeout needs seconds"; TIMEOUT="$2"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    --yes) shift ;; # nothing to confirm: accepted for symmetry with the other scripts
    --build) [[ $# -ge 2 ]] || die "--build needs a folder"; CEAP_BUILD_DIR="$2"; shift 2 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [[ -z "$ENV_NAME" ]] || die "one environment only (got $ENV_NAME and $1)"; ENV_NAME="$1"; shift ;;
  esac
done
[[ -n "$ENV_NAME" ]] || die "missing ENV (e.g. scripts/smoke-test.sh dev --workflow realtime); see --help"
[[ -z "$REQUEST_FILE" || -f "$REQUEST_FILE" ]] || die "--request $REQUEST_FILE: file not found"

require_build "$ENV_NAME"
workflow_args=()
[[ -z "$WORKFLOW" ]] || workflow_args=(--workflow "$WORKFLOW")
out="$(plan_helper smoke-plan "$BUILD_ENV_DIR" "${workflow_args[@]}" 2>&1)" || die "${out#error: }"
STAGES=() PROGRAM="" MARKETPLACE=""
while IFS=$'\t' read -r kind a b; do
  case "$kind" in
    stack) STACK="$a" ;;
    machine) MACHINE_ID="$a" MACHINE_TYPE="$b" ;;
    bucket) BUCKET_ID="$a" ;;
    pipe) PIPE_ID="$a" ;;
    stage) STAGES+=("$a") ;;
    program) PROGRAM="$a" MARKETPLACE="$b" ;;
  esac
done <<<"$out"
if [[ -n "$REQUEST_FILE" ]]; then
  REQUEST="$(cat "$REQUEST_FILE")"
else
  [[ -n "$PROGRAM" ]] || die "$BUILD_ENV_DIR schedules no program: pass --request FILE"
  today="$(date -u +%Y-%m-%d)"
  REQUEST="{\"programId\": \"$PROGRAM\", \"marketplace\": \"$MARKETPLACE\", \"dateRange\": {\"start\": \"$today\", \"end\": \"$today\"}}"
fi

preflight
resource() {
  local physical
  physical="$(stack_resource "$STACK" "$1")"
  [[ -n "$physical" ]] || die "$STACK/$1 is not deployed (scripts/deploy.sh $ENV_NAME first)"
  printf '%s\n' "$physical"
}
MACHINE_ARN="$(resource "$MACHINE_ID")"
BUCKET="$(resource "$BUCKET_ID")"
CANDIDATES_TABLE="$(aws_call cloudformation list-exports --output text \
  --query "Exports[?ends_with(Name, '-CandidatesTableName')].Value | [0]")"
warn_pending_subscriptions
log "smoke test of $STACK: $MACHINE_TYPE machine $MACHINE_ARN, bucket $BUCKET, stages ${STAGES[*]}"
if [[ "$DRY_RUN" == 1 ]]; then
  log "dry run: would send $REQUEST"
  exit 0
fi
RUN="$(run_dir "smoke-$ENV_NAME")"
started_iso="$(date -u +%Y-%m-%dT%H:%M:%S)"
deadline=$((SECONDS + TIMEOUT))

# follow EXECUTION_ID: every stage's output, in order; fails naming the first one missing.
follow() {
  local execution="$1" stage key body previous=""
  for stage in "${STAGES[@]}"; do
    key="executions/$execution/$stage/output.json"
    until aws_call s3api head-object --bucket "$BUCKET" --key "$key" >/dev/null 2>&1; do
      if [[ -n "$EXECUTION_ARN" && "$(execution_status "$EXECUTION_ARN")" != RUNNING ]] &&
        ! aws_call s3api head-object --bucket "$BUCKET" --key "$key" >/dev/null 2>&1; then
        fail "stage $stage failed: execution $execution ended $(execution_status "$EXECUTION_ARN") without its output" \
          "($(aws_call stepfunctions describe-execution --execution-arn "$EXECUTION_ARN" --query 'cause || error' --output text 2>/dev/null | head -c 300))"
      fi
      if ((SECONDS > deadline)); then
        fail "stage $stage produced no output (s3://$BUCKET/$key) within ${TIMEOUT}s${previous:+ (last output: $previous)}"
      fi
      sleep 1
    done
    body="$RUN/$execution-$stage.json"
    aws_call s3api get-object --bucket "$BUCKET" --key "$key" "$body" >/dev/null 2>&1 || : >"$body"
    log "  $stage: s3://$BUCKET/$key ($("${CEAP_PYTHON:-python3}" <"$body" -c '
import json, sys
text = sys.stdin.read()
try:
    data = json.loads(text)
except ValueError:
    print(f"{len(text)} bytes"); sys.exit()
parts = [f"{k}: {len(v)}" for k, v in data.items() if isinstance(v, list)] if isinstance(data, dict) else []
metrics = data.get("metrics", {}) if isinstance(data, dict) else {}
parts += [f"{k}={v}" for k, v in metrics.items() if isinstance(v, (int, float))]
print(", ".join(parts) or f"{len(text)} bytes")' 2>/dev/null || echo "?"))"
    previous="$stage"
  done
}

# execution_status ARN: RUNNING / SUCCEEDED / FAILED / ... (standard machines only).
execution_status() {
  aws_call stepfunctions describe-execution --execution-arn "$1" --query status --output text
}

candidates() {
  [[ -n "$CANDIDATES_TABLE" && "$CANDIDATES_TABLE" != None ]] || return 0
  local program="${PROGRAM:-$(printf '%s' "$REQUEST" | "${CEAP_PYTHON:-python3}" -c 'import json,sys; print(json.load(sys.stdin)["programId"])')}"
  local items
  items="$(aws_call dynamodb scan --table-name "$CANDIDATES_TABLE" --output text --max-items 5 \
    --filter-expression 'begins_with(GSI2PK, :p)' --expression-attribute-values "{\":p\": {\"S\": \"PROGRAM#$program#\"}}" \
    --query 'Items[].[PK.S,SK.S]' 2>/dev/null | grep -v '^None$' || true)"
  log "  Candidates items of program $program in $CANDIDATES_TABLE (first 5):"
  printf '%s\n' "${items:-    (none)}" | sed 's/^/    /'
  [[ -n "$items" ]] || fail "stage Store wrote no Candidates item for program $program"
}

EXECUTION_ARN=""  # known for executions started here on a STANDARD machine (express ones cannot be described)
name="smoke-$(date -u +%Y%m%dT%H%M%S)-$$"
if [[ -z "$WORKFLOW" || "$MACHINE_TYPE" == STANDARD && "$PIPE_ID" == - ]]; then
  EXECUTION_ARN="$(aws_call stepfunctions start-execution --state-machine-arn "$MACHINE_ARN" --name "$name" --input "$REQUEST" \
    --query executionArn --output text)"
  log "started execution $name"
  follow "$name"
  until [[ "$(execution_status "$EXECUTION_ARN")" != RUNNING ]]; do
    ((SECONDS < deadline)) || fail "execution $name still RUNNING after ${TIMEOUT}s"
    sleep 1
  done
  status="$(execution_status "$EXECUTION_ARN")"
  [[ "$status" == SUCCEEDED ]] || fail "execution $name ended $status"
  log "execution $name SUCCEEDED"
  candidates
  exit 0
fi

# Through the queue: the pipe starts the machine with the message batch.
QUEUE_URL="$(aws_call cloudformation describe-stacks --stack-name "$STACK" --output text \
  --query "Stacks[0].Outputs[?OutputKey=='QueueUrl'].OutputValue | [0]")"
mapfile -t sqs_args < <(sqs_endpoint_args)
aws_call sqs send-message "${sqs_args[@]}" --queue-url "$QUEUE_URL" --message-body "$REQUEST" >/dev/null
log "sent one request to $QUEUE_URL"
execution=""
until [[ -n "$execution" ]]; do
  ((SECONDS < deadline)) || fail "stage ${STAGES[0]} produced no output within ${TIMEOUT}s of the queued request (is the pipe running?)"
  # Express executions cannot be listed: find the run by its first stage's output.
  execution="$(aws_call s3api list-objects-v2 --bucket "$BUCKET" --prefix executions/ --output text \
    --query "Contents[?LastModified>='$started_iso' && ends_with(Key, '/${STAGES[0]}/output.json')].Key | [0]" 2>/dev/null |
    grep -v '^None$' | cut -d/ -f2 || true)"
  [[ -n "$execution" ]] || sleep 1
done
log "the queued request runs as execution $execution"
follow "$execution"
if [[ "$MACHINE_TYPE" == EXPRESS ]]; then
  result="$(AWS_DISABLE_HOST_PREFIX_INJECTION=true aws_call stepfunctions start-sync-execution \
    --state-machine-arn "$MACHINE_ARN" --name "$name" --input "$REQUEST" --query status --output text 2>&1 || true)"
  [[ "$result" == SUCCEEDED ]] || fail "direct sync execution $name ended ${result:-without a status}"
  log "direct sync execution $name SUCCEEDED"
  follow "$name"
fi
candidates
