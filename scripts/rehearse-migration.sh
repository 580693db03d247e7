#!/usr/bin/env bash
# Rehearse the blue-green migration of one environment on the local AWS, end to end, each phase timed.
set -euo pipefail
SCRIPT_NAME=rehearse-migration.sh
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: scripts/rehearse-migration.sh ENV [--build DIR] [--items N] [--keep] [--dry-run] [--yes]

Runs the blue-green route of docs/migration.md on the local AWS (scripts/local-aws.sh start;
AWS_ENDPOINT_URL must be a loopback URL, else exit 2 before any call):
  deploy-legacy  deploy.sh ENV --layout legacy
  seed           N generated Candidates items (default 3000), 20 program configs, caches
  backup         backup-templates.sh; snapshot of every table (count, SHA-256 of sorted items)
  batch-legacy   one batch-ingestion request on CeapBatchIngestion-ENV; the Candidates items it wrote
  handover       kept names: Retain, removed from legacy, imported into the new stacks (IMPORT change set)
  cleanup-refused validate-resources.sh fails (workflow stacks missing) and cleanup-legacy.sh refuses
  deploy-new     deploy.sh ENV --only <every new stack but the database stack>
  batch-new      the same request; its Candidates items equal legacy's (volatile fields stripped)
  validate       validate-resources.sh passes
  cleanup        cleanup-legacy.sh --yes; every table's count and checksum unchanged
  rollback       kept names handed back, rollback.sh, import into legacy; tables unchanged again
Last line: phases with seconds | items before->after per table | ok (exit 0) or FAILED: what (exit 1).
  --items N   Candidates items to generate (default 3000)
  --keep      keep the run folder (snapshots, logs) after a successful run
  --dry-run   check the inputs and the endpoint, print the phases; change nothing
  --yes       answer the scripts' prompts with yes (the rehearsal deletes and re-creates stacks)
  --build DIR build folder (default: build/ of the project)
EOF
}

ENV_NAME="" ITEMS=3000 KEEP=0 build_args=()
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --items) [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || die "--items needs a positive number (got '${2:-}')"; ITEMS="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --yes) ASSUME_YES=1; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    --build) [[ $# -ge 2 ]] || die "--build needs a folder"; CEAP_BUILD_DIR="$2" build_args=(--build "$2"); shift 2 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [[ -z "$ENV_NAME" ]] || die "one environment only (got $ENV_NAME and $1)"; ENV_NAME="$1"; shift ;;
  esac
done
[[ -n "$ENV_NAME" ]] || die "missing ENV (e.g. scripts/rehearse-migration.sh dev --yes); see --help"
# Never a real account: the rehearsal deletes stacks and rewrites tables.
[[ "${AWS_ENDPOINT_URL:-}" =~ ^https?://(127\.[0-9]+\.[0-9]+\.[0-9]+|localhost|\[::1\])(:[0-9]+)?/?$ ]] ||
  die "AWS_ENDPOINT_URL='${AWS_ENDPOINT_URL:-}' is not a loopback URL: the rehearsal runs only on the local AWS (eval \"\$(scripts/local-aws.sh start)\")"
[[ "$ASSUME_YES" == 1 || "$DRY_RUN" == 1 || -t 0 ]] ||
  die "the rehearsal deletes and re-creates stacks: there is no terminal to confirm, re-run with --yes"

require_build "$ENV_NAME"
preflight
PY="${CEAP_PYTHON:-python3}"
DATA=(-m ceap_templates.migration.rehearsal_data)
HAND=(-m ceap_templates.migration.rehearsal_handover)
mapfile -t DATABASE < <(plan_helper database "$BUILD_ENV_DIR")
NEW_STACKS=()
while IFS=$'\t' read -r _ name _; do
  [[ " ${DATABASE[*]} " == *" $name "* ]] || NEW_STACKS+=("$name")
done < <(plan_helper plan "$BUILD_ENV_DIR" --layout consolidated)
all_stacks_json >"/tmp/ceap-rehearsal-stacks-$$.json"
while IFS=$'\t' read -r name _; do
  for new in "${NEW_STACKS[@]}"; do
    [[ "$name" != "$new" ]] || { rm -f "/tmp/ceap-rehearsal-stacks-$$.json"; die "$name is deployed: the rehearsal starts from the legacy layout alone (delete it first: scripts/rollback.sh $ENV_NAME --yes)"; }
  done
done < <(plan_helper deployed "/tmp/ceap-rehearsal-stacks-$$.json")
rm -f "/tmp/ceap-rehearsal-stacks-$$.json"

PHASES=(deploy-legacy seed backup batch-legacy handover cleanup-refused deploy-new batch-new validate cleanup rollback)
if [[ "$DRY_RUN" == 1 ]]; then
  log "dry run: would rehearse $ENV_NAME at $AWS_ENDPOINT_URL with $ITEMS Candidates items: ${PHASES[*]}"
  log "dry run: new stacks ${NEW_STACKS[*]}; database stack ${DATABASE[*]} stays"
  exit 0
fi

RUN="$(run_dir "rehearsal-$ENV_NAME")"
export CEAP_BACKUP_DIR="$RUN/backups"
log "rehearsal of $ENV_NAME at $AWS_ENDPOINT_URL; logs and snapshots in $RUN"

# ---- helpers (run inside the phases' subshells) ----
aws_ok() { aws_call "$@" --output json >>"$RUN/aws.log"; }

# template_args FILE KEY: TEMPLATE_ARGS for a template the rehearsal wrote (S3 when over 51,200 bytes).
template_args() {
  local file="$1" key
  key="rehearsal/$ENV_NAME/$(basename "$1" .json)-$(sha256sum "$1" | cut -c1-16).json"
  if (($(wc -c <"$file") > 51200)); then
    aws_ok s3api put-object --bucket "$ARTIFACT_BUCKET" --key "$key" --body "$file"
    TEMPLATE_ARGS=(--template-url "https://s3.$REGION.amazonaws.com/$ARTIFACT_BUCKET/$key")
  else
    TEMPLATE_ARGS=(--template-body "file://$file")
  fi
}

# update_to STACK FILE [PARAMS_FILE]: update-stack and expect UPDATE_COMPLETE.
update_to() {
  local params=()
  [[ -z "${3:-}" ]] || params=(--parameters "file://$3")
  template_args "$2"
  aws_ok cloudformation update-stack --stack-name "$1" "${TEMPLATE_ARGS[@]}" "${params[@]}" --capabilities CAPABILITY_IAM CAPABILITY_NAMED_IAM
  wait_stack "$1" "  "
  [[ "$WAITED_STATUS" == UPDATE_COMPLETE ]] || { failed_events "$1" 5; echo "$1 ended $WAITED_STATUS" >&2; return 1; }
}

# parameters STACK LAYOUT: the stack's parameter file as deploy.sh passes it.
parameters() {
  mkdir -p "$RUN/params-$2"
  plan_helper parameters "$BUILD_ENV_DIR" --layout "$2" --out "$RUN/params-$2" >/dev/null
  printf '%s\n' "$RUN/params-$2/$1.parameters.json"
}

# hand_out HOLDER IDS: Retain the kept resources, then remove them from HOLDER (they stay live).
hand_out() {
  local holder="$1" ids="$2" dir="$RUN/handover/$1"
  mkdir -p "$dir"
  aws_call cloudformation get-template --stack-name "$holder" --template-stage Original --query TemplateBody --output json >"$dir/deployed.json"
  "$PY" "${HAND[@]}" literals --stack "$holder" --logical "$ids" --out "$dir/literals.json"
  "$PY" "${HAND[@]}" retain "$dir/deployed.json" --logical "$ids" --out "$dir/retain.json"
  "$PY" "${HAND[@]}" strip "$dir/retain.json" --logical "$ids" --literals "$dir/literals.json" --out "$dir/stripped.json"
  local params
  params="$(aws_call cloudformation describe-stacks --stack-name "$holder" --query 'Stacks[0].Parameters' --output json)"
  if [[ "$params" == null || "$params" == "[]" ]]; then
    params=""
  else
    printf '%s' "$params" >"$dir/params.json"
    params="$dir/params.json"
  fi
  log "  $holder: DeletionPolicy Retain on $ids"
  update_to "$holder" "$dir/retain.json" "$params"
  log "  $holder: $ids removed (retained in the account)"
  update_to "$holder" "$dir/stripped.json" "$params"
}

# hand_in DEST IDS TEMPLATE LAYOUT LITERALS: create DEST without the kept resources if missing, import them.
hand_in() {
  local dest="$1" ids="$2" template="$3" layout="$4" literals="$5" dir="$RUN/handover/$1" params status
  mkdir -p "$dir"
  params="$(parameters "$dest" "$layout")"
  [[ "$(tr -d '[:space:]' <"$params")" != "[]" ]] || params=""
  status="$(stack_status "$dest")"
  if [[ "$status" == NONE ]]; then
    "$PY" "${HAND[@]}" strip "$template" --logical "$ids" --literals "$literals" --out "$dir/without.json"
    template_args "$dir/without.json"
    log "  $dest: created without $ids"
    aws_ok cloudformation create-stack --stack-name "$dest" "${TEMPLATE_ARGS[@]}" ${params:+--parameters "file://$params"} \
      --capabilities CAPABILITY_IAM CAPABILITY_NAMED_IAM
    wait_stack "$dest" "  "
    [[ "$WAITED_STATUS" == CREATE_COMPLETE ]] || { failed_events "$dest" 5; echo "$dest ended $WAITED_STATUS" >&2; return 1; }
  fi
  "$PY" "${HAND[@]}" imports "$template" --logical "$ids" --literals "$literals" --out "$dir/imports.json"
  # CloudFormation imports only resources with a DeletionPolicy: Retain where the template states none.
  "$PY" "${HAND[@]}" retain "$template" --logical "$ids" --only-missing --out "$dir/import-template.json"
  template_args "$dir/import-template.json"
  aws_ok cloudformation create-change-set --stack-name "$dest" --change-set-name rehearsal-import --change-set-type IMPORT \
    "${TEMPLATE_ARGS[@]}" ${params:+--parameters "file://$params"} --resources-to-import "file://$dir/imports.json" \
    --capabilities CAPABILITY_IAM CAPABILITY_NAMED_IAM
  local actions
  actions="$(aws_call cloudformation describe-change-set --stack-name "$dest" --change-set-name rehearsal-import \
    --query 'Changes[].ResourceChange.Action' --output text)"
  [[ "$(tr '\t' '\n' <<<"$actions" | sort -u)" == Import ]] || { echo "$dest import change set shows '$actions', not Import" >&2; return 1; }
  aws_ok cloudformation execute-change-set --stack-name "$dest" --change-set-name rehearsal-import
  wait_stack "$dest" "  "
  [[ "$WAITED_STATUS" == IMPORT_COMPLETE ]] || { echo "$dest import ended $WAITED_STATUS" >&2; return 1; }
  log "  $dest: imported $ids (IMPORT_COMPLETE)"
}

# batch NAME: one batch-ingestion request; the Candidates items it wrote into $RUN/written-NAME.json,
# then the tables get the backup's items back (so every later check compares with the backup).
batch() {
  local arn execution status
  arn="$(aws_call stepfunctions list-state-machines --output text \
    --query "stateMachines[?name=='CeapBatchIngestion-$ENV_NAME'].stateMachineArn | [0]")"
  [[ -n "$arn" && "$arn" != None ]] || { echo "no state machine CeapBatchIngestion-$ENV_NAME" >&2; return 1; }
  execution="$(aws_call stepfunctions start-execution --state-machine-arn "$arn" --name "rehearsal-$1-$$" \
    --input "file://$RUN/request.json" --query executionArn --output text)"
  for _ in $(seq 1 300); do
    status="$(aws_call stepfunctions describe-execution --execution-arn "$execution" --query status --output text)"
    [[ "$status" == RUNNING ]] || break
    sleep 1
  done
  [[ "$status" == SUCCEEDED ]] || { echo "batch ingestion on $1 ended $status" >&2; return 1; }
  "$PY" "${DATA[@]}" snapshot --env "$ENV_NAME" --out "$RUN/after-$1.json"
  "$PY" "${DATA[@]}" written "$RUN/before.json" "$RUN/after-$1.json" --table "Candidates-$ENV_NAME" --out "$RUN/written-$1.json"
  "$PY" "${DATA[@]}" restore "$RUN/before.json"
  log "  $1: execution SUCCEEDED, $("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$RUN/written-$1.json") Candidates item(s) written"
}

# unchanged LABEL: every table holds the backup's items (count and checksum).
unchanged() {
  "$PY" "${DATA[@]}" snapshot --env "$ENV_NAME" --out "$RUN/$1.json"
  "$PY" "${DATA[@]}" counts "$RUN/before.json" "$RUN/$1.json" >"$RUN/counts.txt"
}

phase_deploy-legacy() { "$CEAP_ROOT/scripts/deploy.sh" "$ENV_NAME" --layout legacy --yes "${build_args[@]}"; }
phase_seed() {
  "$PY" "${DATA[@]}" seed --env "$ENV_NAME" --items "$ITEMS" --program "$CEAP_ROOT/scripts/local-aws/program-retail.json"
  "$PY" "${DATA[@]}" request --records 40 >"$RUN/request.json"
}
phase_backup() {
  "$CEAP_ROOT/scripts/backup-templates.sh" "$ENV_NAME" --out "$CEAP_BACKUP_DIR" "${build_args[@]}"
  "$PY" "${DATA[@]}" snapshot --env "$ENV_NAME" --out "$RUN/before.json"
  "$PY" "${DATA[@]}" counts "$RUN/before.json" "$RUN/before.json" >"$RUN/counts.txt"
}
phase_batch-legacy() { batch legacy; }
phase_handover() {
  local holder dest ids template
  while IFS=$'\t' read -r holder dest ids template; do
    hand_out "$holder" "$ids"
    hand_in "$dest" "$ids" "$template" consolidated "$RUN/handover/$holder/literals.json"
  done < <("$PY" "${HAND[@]}" pairs "$BUILD_ENV_DIR")
  # The rollback point: legacy without the kept names (rollback.sh restores the newest backup).
  "$CEAP_ROOT/scripts/backup-templates.sh" "$ENV_NAME" --out "$CEAP_BACKUP_DIR" "${build_args[@]}"
}
phase_cleanup-refused() {
  if "$CEAP_ROOT/scripts/validate-resources.sh" "$ENV_NAME" "${build_args[@]}"; then
    echo "validate-resources.sh passed before the new stacks were deployed" >&2
    return 1
  fi
  local rc=0
  "$CEAP_ROOT/scripts/cleanup-legacy.sh" "$ENV_NAME" --yes "${build_args[@]}" || rc=$?
  ((rc == 1)) || { echo "cleanup-legacy.sh exited $rc while validation fails (expected 1, refused)" >&2; return 1; }
}
phase_deploy-new() {
  local only=()
  for name in "${NEW_STACKS[@]}"; do only+=(--only "$name"); done
  "$CEAP_ROOT/scripts/deploy.sh" "$ENV_NAME" --yes "${only[@]}" "${build_args[@]}"
}
phase_batch-new() {
  batch new
  "$PY" "${DATA[@]}" equivalent "$RUN/written-legacy.json" "$RUN/written-new.json"
}
phase_validate() { "$CEAP_ROOT/scripts/validate-resources.sh" "$ENV_NAME" "${build_args[@]}"; }
phase_cleanup() {
  "$CEAP_ROOT/scripts/cleanup-legacy.sh" "$ENV_NAME" --yes "${build_args[@]}"
  unchanged after-cleanup
}
phase_rollback() {
  local holder dest ids template
  mapfile -t back < <("$PY" "${HAND[@]}" pairs "$BUILD_ENV_DIR" --back)
  for line in "${back[@]}"; do
    IFS=$'\t' read -r holder dest ids template <<<"$line"
    hand_out "$holder" "$ids"
  done
  "$CEAP_ROOT/scripts/rollback.sh" "$ENV_NAME" --yes --backups "$CEAP_BACKUP_DIR" "${build_args[@]}"
  for line in "${back[@]}"; do
    IFS=$'\t' read -r holder dest ids template <<<"$line"
    hand_in "$dest" "$ids" "$template" legacy "$RUN/handover/$holder/literals.json"
  done
  unchanged after-rollback
}

# ---- phases: each in a subshell with errexit, timed; the first failure ends the rehearsal ----
TIMES=() FAILED=""
for phase in "${PHASES[@]}"; do
  log "phase $phase (log $RUN/$phase.log)"
  started="$(date +%s.%N)"
  set +e
  (
    set -e
    "phase_$phase"
  ) >"$RUN/$phase.log" 2>&1
  rc=$?
  set -e
  took="$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
  TIMES+=("$phase ${took}s")
  if ((rc != 0)); then
    FAILED="$phase: $(grep -v '^\s*$' "$RUN/$phase.log" | tail -n 1 | cut -c1-300)"
    log "phase $phase FAILED after ${took}s; last lines of its log:"
    tail -n 15 "$RUN/$phase.log" | sed 's/^/    /'
    break
  fi
  log "phase $phase done in ${took}s"
done

counts="$(cat "$RUN/counts.txt" 2>/dev/null || echo "no snapshot")"
times="$(printf '%s, ' "${TIMES[@]}")"
if [[ -n "$FAILED" ]]; then
  echo "rehearsal $ENV_NAME: ${times%, } | $counts | FAILED: $FAILED"
  exit 1
fi
[[ "$KEEP" == 1 ]] || rm -rf "$RUN"
echo "rehearsal $ENV_NAME: ${times%, } | $counts | ok"
