#!/usr/bin/env bash
# Deploy one environment's committed build, wave by wave, with the aws CLI.
set -euo pipefail
SCRIPT_NAME=deploy.sh
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: scripts/deploy.sh ENV [--layout consolidated|legacy] [--only STACK]... [--yes] [--dry-run]

Deploys build/ENV (the manifest's waves) with the aws CLI; honours AWS_ENDPOINT_URL.
  --layout consolidated  the product: consolidated + workflow stacks (manifest.deploy; default)
  --layout legacy        the 7 legacy stacks (rehearsals, rollback targets)
  --only STACK           deploy only this stack (repeatable; waves still ordered)
  --yes                  answer every prompt with yes (delete a ROLLBACK_COMPLETE stack, ...)
  --dry-run              read the account and print what would happen; change nothing
  --build DIR            build folder (default: build/ of the project, or $CEAP_BUILD_DIR)

Refuses a build whose templates differ from the manifest's SHA-256, or that
`ceap-templates validate` rejects. Uploads the code objects missing in the artifact
bucket and templates over 51,200 bytes. Skips a stack whose tags ceap:template-sha256 and
ceap:parameters-sha256 equal the build (no change set, no update). Stacks of one wave run
in parallel, each with its own log; the next wave starts only when every stack of this one
is complete. Exit 0 only when every stack is complete; 1 when a stack failed; 2 on bad input.
EOF
}

ENV_NAME="" LAYOUT=consolidated ONLY=()
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --layout) [[ $# -ge 2 ]] || die "--layout needs a value (consolidated or legacy)"; LAYOUT="$2"; shift 2 ;;
    --only) [[ $# -ge 2 ]] || die "--only needs a stack name"; ONLY+=("$2"); shift 2 ;;
    --yes) ASSUME_YES=1; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    --build) [[ $# -ge 2 ]] || die "--build needs a folder"; CEAP_BUILD_DIR="$2"; shift 2 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [[ -z "$ENV_NAME" ]] || die "one environment only (got $ENV_NAME and $1)"; ENV_NAME="$1"; shift ;;
  esac
done
[[ -n "$ENV_NAME" ]] || die "missing ENV (e.g. scripts/deploy.sh dev); see --help"
[[ "$LAYOUT" == consolidated || "$LAYOUT" == legacy ]] || die "--layout $LAYOUT: allowed consolidated or legacy"

# ---- inputs: build, manifest, validation, plan (nothing in the account is touched yet) ----
require_build "$ENV_NAME"
out="$(plan_helper check "$BUILD_ENV_DIR" 2>&1)" || die "${out#error: }"
only_args=()
for stack in "${ONLY[@]}"; do only_args+=(--only "$stack"); done
plan="$(plan_helper plan "$BUILD_ENV_DIR" --layout "$LAYOUT" "${only_args[@]}" 2>&1)" || die "${plan#error: }"
require_valid_build

RUN="$(run_dir "deploy-$ENV_NAME")"
plan_helper parameters "$BUILD_ENV_DIR" --layout "$LAYOUT" --out "$RUN"
"${CEAP_PYTHON:-python3}" -m ceap_templates package --source-root "$CEAP_ROOT" --out "$RUN/code" >"$RUN/package.log" 2>&1 ||
  die "ceap-templates package failed: $(tail -n 1 "$RUN/package.log")"
mapfile -t CODE_KEYS < <(plan_helper code "$BUILD_ENV_DIR")
for key in "${CODE_KEYS[@]}"; do
  [[ -f "$RUN/code/$key" ]] ||
    die "$BUILD_ENV_DIR/manifest.json references $key, but the sources package to other keys: rebuild (tox -e build)"
done

preflight
log "deploy $ENV_NAME ($LAYOUT layout) to account $CALLER_ACCOUNT $REGION${AWS_ENDPOINT_URL:+ at $AWS_ENDPOINT_URL}; logs in $RUN"

# ---- what is deployed now: one describe-stacks for every stack ----
declare -A STATUS=() TAG_SHA=() TAG_PARAMS=() ACTION=() RESULT=() SECONDS_TAKEN=()
snapshot() {
  local name status sha params
  STATUS=() TAG_SHA=() TAG_PARAMS=()
  all_stacks_json >"$RUN/stacks.json"
  while IFS=$'\t' read -r name status sha params; do
    [[ -n "$name" ]] || continue
    STATUS["$name"]="$status" TAG_SHA["$name"]="$sha" TAG_PARAMS["$name"]="${params:--}"
  done < <(plan_helper deployed "$RUN/stacks.json")
}
snapshot

# Stacks still moving: wait for them to settle (REVIEW_IN_PROGRESS never settles by itself).
while IFS=$'\t' read -r _ name _; do
  status="${STATUS[$name]:-NONE}"
  if [[ "$status" == *_IN_PROGRESS && "$status" != REVIEW_IN_PROGRESS ]]; then
    if [[ "$DRY_RUN" == 1 ]]; then
      log "$name is $status: a real run waits for it to settle"
    else
      log "$name is $status: waiting for it to settle before planning"
      wait_stack "$name" "  " || die "$name did not settle ($WAITED_STATUS): try again later"
      snapshot
    fi
  fi
done <<<"$plan"

RECREATE=()
while IFS=$'\t' read -r wave name _ sha psha _; do
  status="${STATUS[$name]:-NONE}"
  case "$status" in
    NONE) ACTION["$name"]=create ;;
    ROLLBACK_COMPLETE) ACTION["$name"]=recreate; RECREATE+=("$name") ;;
    REVIEW_IN_PROGRESS) ACTION["$name"]=recreate ;; # a failed change set's empty stack: no resources to lose
    *_FAILED)
      die "$name is $status: fix it first (aws cloudformation continue-update-rollback, or delete it), then re-run" ;;
    *_IN_PROGRESS) ACTION["$name"]="wait" ;; # only in --dry-run
    *_COMPLETE)
      if [[ "${TAG_SHA[$name]}" == "$sha" && "${TAG_PARAMS[$name]}" == "$psha" ]]; then
        ACTION["$name"]=unchanged
      else
        ACTION["$name"]=update
      fi ;;
    *) die "$name is in an unexpected state $status" ;;
  esac
  log "plan: wave $wave  $name  ${status}  -> ${ACTION[$name]}"
done <<<"$plan"

# ---- code objects missing in the artifact bucket ----
MISSING_KEYS=()
for key in "${CODE_KEYS[@]}"; do
  aws_call s3api head-object --bucket "$ARTIFACT_BUCKET" --key "$key" >/dev/null 2>&1 || MISSING_KEYS+=("$key")
done
bucket_exists=1
if ((${#MISSING_KEYS[@]})); then
  aws_call s3api head-bucket --bucket "$ARTIFACT_BUCKET" >/dev/null 2>&1 || bucket_exists=0
fi

if [[ "$DRY_RUN" == 1 ]]; then
  [[ "$bucket_exists" == 1 ]] || log "dry run: artifact bucket $ARTIFACT_BUCKET is missing"
  for key in "${MISSING_KEYS[@]}"; do log "dry run: would upload s3://$ARTIFACT_BUCKET/$key"; done
  log "dry run: nothing changed"
  exit 0
fi

if ((${#RECREATE[@]})); then
  confirm "${RECREATE[*]}: ROLLBACK_COMPLETE after a failed create; delete and create again?" ||
    die "not confirmed: nothing changed"
fi

if [[ "$bucket_exists" == 0 ]]; then
  if [[ -z "${AWS_ENDPOINT_URL:-}" ]]; then
    die "artifact bucket $ARTIFACT_BUCKET does not exist in account $CALLER_ACCOUNT: create it once (aws s3api create-bucket --bucket $ARTIFACT_BUCKET, versioned, encrypted) and re-run"
  fi
  log "artifact bucket $ARTIFACT_BUCKET missing on the local endpoint: creating it"
  aws_call s3api create-bucket --bucket "$ARTIFACT_BUCKET" >/dev/null
fi
for key in "${MISSING_KEYS[@]}"; do
  aws_call s3api put-object --bucket "$ARTIFACT_BUCKET" --key "$key" --body "$RUN/code/$key" >/dev/null
  log "uploaded s3://$ARTIFACT_BUCKET/$key"
done
((${#MISSING_KEYS[@]})) || log "code: all ${#CODE_KEYS[@]} objects already in s3://$ARTIFACT_BUCKET"

# ---- one stack (runs as a background job; progress on stdout, CLI errors in its log) ----
deploy_one() {
  local name="$1" template="$2" sha="$3" psha="$4" action="$5" started=$SECONDS
  local params_args=() verb
  template_source_args "$name" "$template" "$sha"
  if [[ "$(cat "$RUN/$name.parameters.json")" != "[]" ]]; then
    params_args=(--parameters "file://$RUN/$name.parameters.json")
  fi
  if [[ "$action" == recreate ]]; then
    log "  $name deleting the failed stack"
    delete_stack_and_wait "$name" "  " || { echo "failed $((SECONDS - started))" >"$RUN/$name.result"; return 1; }
    action=create
  fi
  verb="$action-stack"
  local out
  if ! out="$(aws_call cloudformation "$verb" --stack-name "$name" "${TEMPLATE_ARGS[@]}" "${params_args[@]}" \
    --capabilities CAPABILITY_IAM CAPABILITY_NAMED_IAM \
    --tags "Key=ceap:template-sha256,Value=$sha" "Key=ceap:parameters-sha256,Value=$psha" \
    "Key=ceap:environment,Value=$ENV_NAME" 2>&1)"; then
    if [[ "$out" == *"No updates are to be performed"* ]]; then
      log "  $name no updates to perform"
      echo "unchanged $((SECONDS - started))" >"$RUN/$name.result"
      return 0
    fi
    printf '%s\n' "$out" >&2
    printf '%s\n' "$(printf '%s' "$out" | grep -v '^$' | tail -n 1)" >"$RUN/$name.reason"
    log "  $name $verb refused: $(cat "$RUN/$name.reason")"
    echo "failed $((SECONDS - started))" >"$RUN/$name.result"
    return 1
  fi
  wait_stack "$name" "  " || true
  echo "${action}d $((SECONDS - started))" >"$RUN/$name.result"
}

print_table() {
  local name wave
  # One more describe-stacks for the outputs, only when something changed since the snapshot.
  if ((changed)); then all_stacks_json >"$RUN/stacks.json"; fi
  local all_outputs
  all_outputs="$(plan_helper outputs "$RUN/stacks.json")"
  printf '\n%-28s %-5s %-10s %-24s %7s  %s\n' STACK WAVE ACTION STATUS SECONDS OUTPUTS
  while IFS=$'\t' read -r wave name _; do
    local outputs count
    outputs="$(printf '%s\n' "$all_outputs" | awk -F'\t' -v s="$name" '$1 == s { print $2 }')"
    count="$(printf '%s' "$outputs" | grep -c . || true)"
    printf '%-28s %-5s %-10s %-24s %7s  %s\n' "$name" "$wave" "${RESULT[$name]:-not started}" \
      "${STATUS[$name]:-NONE}" "${SECONDS_TAKEN[$name]:--}" "$count"
    [[ -z "$outputs" ]] || printf '%s\n' "$outputs" | sed 's/^/      /'
  done <<<"$plan"
}

# ---- waves ----
failed=() changed=0
last_wave="$(printf '%s\n' "$plan" | tail -n 1 | cut -f1)"
for wave in $(seq 1 "$last_wave"); do
  jobs_started=0
  declare -A PIDS=()
  while IFS=$'\t' read -r w name template sha psha _; do
    [[ "$w" == "$wave" ]] || continue
    if [[ "${ACTION[$name]}" == unchanged ]]; then
      RESULT["$name"]=unchanged SECONDS_TAKEN["$name"]=0
      log "wave $wave: $name unchanged (template and parameters as deployed)"
      continue
    fi
    log "wave $wave: $name ${ACTION[$name]} (log $RUN/$name.log)"
    deploy_one "$name" "$template" "$sha" "$psha" "${ACTION[$name]}" 2>>"$RUN/$name.log" &
    PIDS["$name"]=$!
    jobs_started=$((jobs_started + 1)) changed=1
  done <<<"$plan"
  for name in "${!PIDS[@]}"; do wait "${PIDS[$name]}" || true; done
  # Read every stack's final state ourselves: a waiter would take UPDATE_ROLLBACK_COMPLETE for done.
  while IFS=$'\t' read -r w name _; do
    [[ "$w" == "$wave" && -n "${PIDS[$name]:-}" ]] || continue
    status="$(stack_status "$name" 2>>"$RUN/$name.log" || echo UNKNOWN)"
    STATUS["$name"]="$status"
    read -r result took <"$RUN/$name.result" || { result=failed; took=-; }
    RESULT["$name"]="$result" SECONDS_TAKEN["$name"]="$took"
    case "${RESULT[$name]}:$status" in
      created:CREATE_COMPLETE | updated:UPDATE_COMPLETE) ;;
      unchanged:CREATE_COMPLETE | unchanged:UPDATE_COMPLETE | unchanged:UPDATE_ROLLBACK_COMPLETE) ;;
      *) RESULT["$name"]=failed; failed+=("$name") ;;
    esac
  done <<<"$plan"
  unset PIDS
  if ((${#failed[@]})); then
    for name in "${failed[@]}"; do
      if [[ -s "$RUN/$name.reason" ]]; then
        log "wave $wave: $name FAILED: CloudFormation refused the request: $(cat "$RUN/$name.reason")"
      else
        log "wave $wave: $name FAILED (${STATUS[$name]}); first failed events:"
        failed_events "$name" 5
      fi
      log "  full log: $RUN/$name.log"
    done
    print_table
    if ((wave > 1)); then
      log "stopped before wave $((wave + 1)); waves 1..$((wave - 1)) stay deployed."
    else
      log "stopped in wave 1: no later wave was started."
    fi
    log "to roll back the product: scripts/rollback.sh $ENV_NAME --yes (keeps the database stack)"
    fail "${failed[*]} did not complete"
  fi
  log "wave $wave complete ($jobs_started stack(s) changed)"
done
print_table
if ((changed)); then warn_pending_subscriptions; fi
log "deploy of $ENV_NAME complete"
