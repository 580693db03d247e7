#!/usr/bin/env bash
# Send the requests of failed workflow executions back to the workflow's queue (issue 14 item 4).
set -euo pipefail
SCRIPT_NAME=redrive.sh
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<'EOF_USAGE'
Usage: scripts/redrive.sh WORKFLOW ENV [--max N] [--dry-run] [--yes] [--build DIR]

Sends the requests of failed executions of WORKFLOW (deployed from build/ENV) back to the
workflow's queue, so the pipe starts them again (docs/design.md 4.3 "No request lost"):
  standard workflow: the status-change events in ceap-workflow-WORKFLOW-failed; the request
                     is each event's detail.input;
  express workflow:  the requests in the workflow DLQ (ceap-workflow-WORKFLOW-dlq).
Each parked message is deleted only after its request was sent. One line per request and a
final count. Exit 0 when every request was redriven, 1 when one could not be, 2 on bad input.
  --max N      redrive at most N requests (default: those that wait when it starts; a request
               that fails again after its redrive is parked again and waits for the next run)
  --dry-run    list the waiting requests (up to 10), send and delete nothing
  --yes        do not ask before redriving
  --build DIR  build folder (default: build/ of the project)
Honours AWS_ENDPOINT_URL (the local emulator: scripts/local-aws.sh).
EOF_USAGE
}

WORKFLOW="" ENV_NAME="" MAX=0
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --max) [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || die "--max needs a positive number (got '${2:-}')"; MAX="$2"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    --yes) ASSUME_YES=1; shift ;;
    --build) [[ $# -ge 2 ]] || die "--build needs a folder"; CEAP_BUILD_DIR="$2"; shift 2 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *)
      if [[ -z "$WORKFLOW" ]]; then WORKFLOW="$1"
      elif [[ -z "$ENV_NAME" ]]; then ENV_NAME="$1"
      else die "unexpected argument $1 (WORKFLOW ENV only; see --help)"
      fi
      shift ;;
  esac
done
[[ -n "$WORKFLOW" && -n "$ENV_NAME" ]] || die "missing WORKFLOW and ENV (e.g. scripts/redrive.sh batch dev); see --help"
[[ "$WORKFLOW" =~ ^[a-z][a-z0-9-]*$ ]] || die "workflow '$WORKFLOW': expected a lower-case name such as batch"

require_build "$ENV_NAME"
out="$(plan_helper redrive-plan "$BUILD_ENV_DIR" "$WORKFLOW" 2>&1)" || die "${out#error: }"
while IFS=$'\t' read -r kind a b; do
  case "$kind" in
    stack) STACK="$a" ;;
    source) SOURCE_ID="$a" SOURCE_KIND="$b" ;;
    target) TARGET_ID="$a" ;;
  esac
done <<<"$out"

# awscli v1's sqs commands ignore AWS_ENDPOINT_URL in us-east-1 (scripts/local-aws.sh --help).
sqs_call() {
  local endpoint=()
  [[ -z "${AWS_ENDPOINT_URL:-}" ]] || endpoint=(--endpoint-url "$AWS_ENDPOINT_URL")
  aws_call sqs "$@" "${endpoint[@]}"
}

preflight
SOURCE_URL="$(stack_resource "$STACK" "$SOURCE_ID")"
TARGET_URL="$(stack_resource "$STACK" "$TARGET_ID")"
[[ -n "$SOURCE_URL" && -n "$TARGET_URL" ]] ||
  die "$STACK/$SOURCE_ID or $TARGET_ID is not deployed (scripts/deploy.sh $ENV_NAME first)"
waiting="$(sqs_call get-queue-attributes --queue-url "$SOURCE_URL" \
  --attribute-names ApproximateNumberOfMessages --query Attributes.ApproximateNumberOfMessages --output text)"
log "$waiting request(s) of workflow $WORKFLOW wait in $SOURCE_URL; redrive to $TARGET_URL"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

if [[ "$DRY_RUN" == 1 ]]; then
  # Visibility 0: the peeked messages stay visible, nothing changes.
  sqs_call receive-message --queue-url "$SOURCE_URL" --max-number-of-messages 10 \
    --visibility-timeout 0 --output json >"$WORK/batch.json"
  out="$(plan_helper redrive-messages "$WORK/batch.json" "$SOURCE_KIND")"
  while IFS=$'\t' read -r _ label request; do
    [[ -n "$label" ]] && printf 'would redrive %s %s\n' "$label" "$request"
  done <<<"$out"
  log "dry run: nothing sent or deleted"
  exit 0
fi
if [[ "$waiting" == 0 ]]; then
  log "redriven 0, failed 0"
  exit 0
fi
confirm "Redrive the failed requests of workflow $WORKFLOW ($ENV_NAME)?" || die "not confirmed: nothing redriven"

# Bounded by what waited at the start: a request that fails again is parked again, not looped on.
((MAX > 0)) || MAX="$waiting"
REDRIVEN=0 FAILED=0
declare -A SEEN=()
while ((MAX == 0 || REDRIVEN + FAILED < MAX)); do
  count=10
  ((MAX == 0 || MAX - REDRIVEN - FAILED >= 10)) || count=$((MAX - REDRIVEN - FAILED))
  # Hidden for 5 minutes while it is resent; a message that cannot be resent stays, visible later.
  sqs_call receive-message --queue-url "$SOURCE_URL" --max-number-of-messages "$count" \
    --visibility-timeout 300 --wait-time-seconds 1 --output json >"$WORK/batch.json"
  out="$(plan_helper redrive-messages "$WORK/batch.json" "$SOURCE_KIND")"
  [[ -n "$out" ]] || break
  new=0
  while IFS=$'\t' read -r receipt label request; do
    [[ -z "${SEEN[$receipt]:-}" ]] || continue
    SEEN[$receipt]=1 new=1
    if [[ "$request" == - ]]; then
      printf 'FAILED %s: no request in the message (kept in %s)\n' "$label" "$SOURCE_URL"
      FAILED=$((FAILED + 1))
    elif sqs_call send-message --queue-url "$TARGET_URL" --message-body "$request" --output text \
      --query MessageId >/dev/null &&
      sqs_call delete-message --queue-url "$SOURCE_URL" --receipt-handle "$receipt"; then
      printf 'redriven %s\n' "$label"
      REDRIVEN=$((REDRIVEN + 1))
    else
      printf 'FAILED %s: could not resend or delete (kept in %s)\n' "$label" "$SOURCE_URL"
      FAILED=$((FAILED + 1))
    fi
  done <<<"$out"
  ((new)) || break
done
log "redriven $REDRIVEN, failed $FAILED"
((FAILED == 0))
