# shellcheck shell=bash disable=SC2034  # SC2034: variables set here are read by the scripts sourcing this library
# Shared by every deploy script: logging with elapsed time, bad-input exits, prompts, the build's
# manifest (through python -m ceap_templates.deploy_plan), preflight of the account, stack states.
# Sourced, never run. Callers set SCRIPT_NAME and use `set -euo pipefail`.

CEAP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CEAP_STARTED="$(date +%s.%N)"
ASSUME_YES="${ASSUME_YES:-0}"
DRY_RUN="${DRY_RUN:-0}"
# Seconds between two describe-stacks while waiting (AWS: seconds matter little, calls do).
CEAP_POLL_SECONDS="${CEAP_POLL_SECONDS:-5}"
# Upper bound of one stack operation before the scripts give up waiting.
CEAP_WAIT_TIMEOUT="${CEAP_WAIT_TIMEOUT:-3600}"
# Results of helper functions (bash has no return values): the last waited status, template args.
WAITED_STATUS=""
# shellcheck disable=SC2034  # read by the scripts that source this library
TEMPLATE_ARGS=()

elapsed() {
  local now
  now="$(date +%s.%N)"
  awk -v a="$CEAP_STARTED" -v b="$now" 'BEGIN { printf "%.1f", b - a }'
}

# One progress line: [  12.3s] message
log() { printf '[%6ss] %s\n' "$(elapsed)" "$*"; }

# Bad input or an unusable environment: one line, exit 2, nothing changed.
die() {
  printf '%s: error: %s\n' "${SCRIPT_NAME:-ceap}" "$*" >&2
  exit 2
}

# A failure while working (a stack failed, a check found a gap): exit 1.
fail() {
  printf '%s: FAILED: %s\n' "${SCRIPT_NAME:-ceap}" "$*" >&2
  exit 1
}

# confirm QUESTION: 0 when the user (or --yes) agrees; refuses without a terminal.
confirm() {
  if [[ "$ASSUME_YES" == 1 ]]; then
    log "$1 yes (--yes)"
    return 0
  fi
  if [[ ! -t 0 ]]; then
    die "$1 needs an answer, but there is no terminal: re-run with --yes"
  fi
  local answer
  read -r -p "$1 [y/N] " answer
  [[ "$answer" == y || "$answer" == Y || "$answer" == yes ]]
}

# Every AWS call goes through here: CEAP_API_LOG (if set) gets one line per CLI call, which the
# benchmark counts (service, operation, stack name if any). `aws` honours AWS_ENDPOINT_URL itself (awscli >= 1.29).
aws_call() {
  if [[ -n "${CEAP_API_LOG:-}" ]]; then
    local arg previous="" stack=""
    for arg in "$@"; do
      [[ "$previous" == --stack-name ]] && stack=" $arg"
      previous="$arg"
    done
    printf '%s %s%s\n' "$1" "$2" "$stack" >>"$CEAP_API_LOG"
  fi
  aws "$@"
}

# The manifest helper of the package; it prints TSV and fails with one `error:` line.
plan_helper() {
  "${CEAP_PYTHON:-python3}" -m ceap_templates.deploy_plan "$@"
}

# require_build ENV: sets BUILD_ENV_DIR, checks the manifest helper and the environment name.
require_build() {
  local env="$1" build="${CEAP_BUILD_DIR:-$CEAP_ROOT/build}"
  [[ "$env" =~ ^[a-z][a-z0-9-]*$ ]] || die "environment '$env': expected a lower-case name such as dev"
  if ! "${CEAP_PYTHON:-python3}" -c 'import ceap_templates.deploy_plan' 2>/dev/null; then
    die "the ceap_templates package is not importable by ${CEAP_PYTHON:-python3} (pip install -e . in the project)"
  fi
  if [[ ! -d "$build/$env" ]]; then
    local known
    known="$(find "$build" -mindepth 2 -maxdepth 2 -name manifest.json -printf '%h\n' 2>/dev/null | xargs -r -n1 basename | sort | paste -sd, -)"
    die "unknown environment '$env': no $build/$env/manifest.json (built: ${known:-none}; run ceap-templates build)"
  fi
  BUILD_ENV_DIR="$build/$env"
  local out built
  out="$(plan_helper info "$BUILD_ENV_DIR" all 2>&1)" || die "${out#error: }"
  # shellcheck disable=SC2034  # read by the scripts that source this library
  IFS=$'\t' read -r built MANIFEST_ACCOUNT REGION ARTIFACT_BUCKET <<<"$out"
  [[ "$built" == "$env" ]] || die "$BUILD_ENV_DIR/manifest.json is the build of '$built', not '$env'"
}

# preflight: the CLI is there, credentials work, the endpoint answers, the account is the build's.
preflight() {
  command -v aws >/dev/null || die "the aws CLI is not on PATH (pip install awscli)"
  local out
  export AWS_DEFAULT_REGION="$REGION" AWS_REGION="$REGION"
  out="$(AWS_MAX_ATTEMPTS=1 aws_call sts get-caller-identity --query Account --output text \
    --cli-connect-timeout 5 --cli-read-timeout 20 2>&1)" || {
    out="$(printf '%s' "$out" | grep -v '^$' | tail -n 1)"
    case "$out" in
      *"Unable to locate credentials"* | *InvalidClientTokenId* | *ExpiredToken* | *SignatureDoesNotMatch*)
        die "no usable AWS credentials: $out" ;;
      *) die "cannot reach AWS at ${AWS_ENDPOINT_URL:-the default endpoint}: $out" ;;
    esac
  }
  if [[ "$out" != "$MANIFEST_ACCOUNT" ]]; then
    # The loopback emulator answers with its own default account; a real account must be the build's.
    [[ -n "${AWS_ENDPOINT_URL:-}" ]] ||
      die "credentials are for account $out, but $BUILD_ENV_DIR targets account $MANIFEST_ACCOUNT (wrong profile?)"
    log "note: the endpoint $AWS_ENDPOINT_URL answers as account $out (the build names $MANIFEST_ACCOUNT)"
  fi
  # shellcheck disable=SC2034  # read by the scripts that source this library
  CALLER_ACCOUNT="$out"
}

# stack_status NAME: its status, or NONE when it does not exist (deleted stacks count as NONE).
stack_status() {
  local out
  if out="$(aws_call cloudformation describe-stacks --stack-name "$1" \
    --query 'Stacks[0].StackStatus' --output text 2>&1)"; then
    [[ "$out" == DELETE_COMPLETE ]] && out=NONE
    printf '%s\n' "$out"
  elif [[ "$out" == *"does not exist"* ]]; then
    printf 'NONE\n'
  else
    printf '%s\n' "$out" >&2
    return 1
  fi
}

# all_stacks_json: describe-stacks of every stack of the account and region, in one call (the CLI
# follows the pages); read it with `plan_helper deployed|outputs`.
all_stacks_json() {
  aws_call cloudformation describe-stacks --output json
}

is_settled() { [[ "$1" != *_IN_PROGRESS ]]; }

# wait_stack NAME PREFIX: poll until the stack leaves *_IN_PROGRESS; one line per state change.
# Prints nothing else; the final status lands in WAITED_STATUS.
wait_stack() {
  local name="$1" prefix="${2:-}" last="" status deadline
  deadline=$((SECONDS + CEAP_WAIT_TIMEOUT))
  while :; do
    status="$(stack_status "$name")" || return 1
    if [[ "$status" != "$last" ]]; then
      log "${prefix}$name $status"
      last="$status"
    fi
    if is_settled "$status"; then
      WAITED_STATUS="$status"
      return 0
    fi
    if ((SECONDS > deadline)); then
      log "${prefix}$name still $status after ${CEAP_WAIT_TIMEOUT}s: stopped waiting"
      WAITED_STATUS="$status"
      return 1
    fi
    sleep "$CEAP_POLL_SECONDS"
  done
}

# failed_events NAME [N]: the first N failures of the stack's latest operation: resource, type, status, reason.
failed_events() {
  local events
  events="$(mktemp)"
  if aws_call cloudformation describe-stack-events --stack-name "$1" --output json >"$events" 2>/dev/null; then
    plan_helper failed-events "$events" --limit "${2:-5}" | sed 's/^/    /'
  fi
  rm -f "$events"
}

# stack_resource STACK LOGICAL_ID: its physical ID, or nothing. ListStackResources rather than
# DescribeStackResource: the same answer on AWS, and moto's DescribeStackResource fails on stacks
# holding resource types it does not model.
stack_resource() {
  aws_call cloudformation list-stack-resources --stack-name "$1" --output text \
    --query "StackResourceSummaries[?LogicalResourceId=='$2'].PhysicalResourceId | [0]" 2>/dev/null | grep -v '^None$' || true
}

# warn_pending_subscriptions: an environment whose manifest says alerts reach no one (no alarmEmail)
# gets a line saying so; SNS subscriptions still waiting for their e-mail confirmation receive no
# alarm (issue 14): one ListSubscriptions call, a line per pending one, never a failure.
warn_pending_subscriptions() {
  local pending unsubscribed
  unsubscribed="$(plan_helper info "$BUILD_ENV_DIR" alerts 2>/dev/null || true)"
  [[ -z "$unsubscribed" ]] || log "warning: alerts of $ENV_NAME reach no one: $unsubscribed"
  pending="$(aws_call sns list-subscriptions --output text \
    --query "Subscriptions[?SubscriptionArn=='PendingConfirmation'].[TopicArn,Protocol,Endpoint]" 2>/dev/null || true)"
  [[ -n "$pending" ]] || return 0
  while IFS=$'\t' read -r topic protocol endpoint; do
    log "warning: $protocol subscription $endpoint to $topic is PendingConfirmation: it gets no alarm until confirmed"
  done <<<"$pending"
}

# delete_stack_and_wait NAME PREFIX: delete, wait; 0 when gone.
delete_stack_and_wait() {
  aws_call cloudformation delete-stack --stack-name "$1" >/dev/null
  wait_stack "$1" "${2:-}" || return 1
  [[ "$WAITED_STATUS" == NONE ]]
}

# template_source_args NAME FILE SHA: sets TEMPLATE_ARGS for create/update-stack. Templates over
# 51,200 bytes (CloudFormation's TemplateBody limit) go to the artifact bucket first, once per SHA-256.
template_source_args() {
  local name="$1" file="$2" sha="$3" size key
  size="$(wc -c <"$file")"
  if ((size > 51200)); then
    key="templates/$ENV_NAME/$name-$sha.template.json"
    if ! aws_call s3api head-object --bucket "$ARTIFACT_BUCKET" --key "$key" >/dev/null 2>&1; then
      aws_call s3api put-object --bucket "$ARTIFACT_BUCKET" --key "$key" --body "$file" >/dev/null
      log "  $name template ($size bytes, over 51,200) uploaded to s3://$ARTIFACT_BUCKET/$key"
    fi
    # Path-style URL: accepted by CloudFormation in every region (and parsed by moto).
    TEMPLATE_ARGS=(--template-url "https://s3.$REGION.amazonaws.com/$ARTIFACT_BUCKET/$key")
  else
    TEMPLATE_ARGS=(--template-body "file://$file")
  fi
}

# delete_with_retries NAME: delete-stack and wait, up to 3 attempts, backoff base*2^n seconds.
delete_with_retries() {
  local name="$1" attempt delay="${CEAP_RETRY_BASE_SECONDS:-10}"
  for attempt in 1 2 3; do
    if aws_call cloudformation delete-stack --stack-name "$name" 2>&1 && wait_stack "$name" "  " &&
      [[ "$WAITED_STATUS" == NONE ]]; then
      log "  $name deleted (attempt $attempt)"
      return 0
    fi
    log "  $name delete attempt $attempt failed (${WAITED_STATUS:-refused}); first failed events:"
    failed_events "$name" 3
    if ((attempt < 3)); then
      log "  retrying $name in ${delay}s"
      sleep "$delay"
      delay=$((delay * 2))
    fi
  done
  return 1
}

# backup_root: where backup-templates.sh writes and rollback.sh looks.
backup_root() { printf '%s\n' "${CEAP_BACKUP_DIR:-$CEAP_ROOT/backups}"; }

# The `aws sqs` commands ignore AWS_ENDPOINT_URL in awscli v1 (docs/tools.md "aws CLI v1"): pass it explicitly.
sqs_endpoint_args() {
  if [[ -n "${AWS_ENDPOINT_URL:-}" ]]; then
    printf '%s\n' --endpoint-url "$AWS_ENDPOINT_URL"
  fi
}

# require_valid_build: `ceap-templates validate` passes on BUILD_ENV_DIR. A pass is remembered by the
# SHA-256 of the build's bytes and the validator's code (deploy_plan validation-key), so a re-run of
# the same build does not pay cfn-lint again.
require_valid_build() {
  local key cache findings
  key="$(plan_helper validation-key "$BUILD_ENV_DIR")"
  cache="${CEAP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ceap-templates}/validated"
  if [[ -f "$cache/$key" ]]; then
    log "validate: $BUILD_ENV_DIR passed before (same bytes, same validator: ${key:0:12})"
    return 0
  fi
  if ! findings="$(plan_helper_validate "$BUILD_ENV_DIR" 2>&1)"; then
    die "ceap-templates validate rejects $BUILD_ENV_DIR: $(printf '%s\n' "$findings" | grep -c .) finding(s), first: $(printf '%s\n' "$findings" | head -n 1)"
  fi
  mkdir -p "$cache" && : >"$cache/$key"
  log "validate: $BUILD_ENV_DIR passes every check"
}

plan_helper_validate() { "${CEAP_PYTHON:-python3}" -m ceap_templates validate "$1" --quiet; }

# Run directory for logs of one invocation.
run_dir() {
  local dir
  dir="${CEAP_LOG_DIR:-${TMPDIR:-/tmp}}/ceap-$1-$(date -u +%Y%m%dT%H%M%SZ)-$$"
  mkdir -p "$dir"
  printf '%s\n' "$dir"
}
