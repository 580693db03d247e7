#!/usr/bin/env bash
# Is the migration complete? Every legacy resource has its counterpart deployed in the new stacks.
set -euo pipefail
SCRIPT_NAME=validate-resources.sh
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: scripts/validate-resources.sh ENV [--build DIR]

Checks, against the account (read-only):
  - every new stack of build/ENV (manifest.deploy) is CREATE_COMPLETE or UPDATE_COMPLETE;
  - every resource of the legacy templates (logical ID, type) is deployed in the new stack
    that holds it, and each retained table is the same physical table (the legacy TableName,
    or the deployed legacy stack's table);
  - every Lambda function of the new stacks is Active, every state machine exists, every
    EventBridge rule is ENABLED.
Prints one line per check (OK / GAP) and a summary. Exit 0 when there is no gap, 1 otherwise.
EOF
}

ENV_NAME=""
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --dry-run | --yes) shift ;; # read-only: nothing to change, nothing to confirm
    --build) [[ $# -ge 2 ]] || die "--build needs a folder"; CEAP_BUILD_DIR="$2"; shift 2 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [[ -z "$ENV_NAME" ]] || die "one environment only (got $ENV_NAME and $1)"; ENV_NAME="$1"; shift ;;
  esac
done
[[ -n "$ENV_NAME" ]] || die "missing ENV (e.g. scripts/validate-resources.sh dev); see --help"

require_build "$ENV_NAME"
preflight
RUN="$(run_dir "validate-$ENV_NAME")"
all_stacks_json >"$RUN/stacks.json"
declare -A LIVE=() RESOURCE=()
while IFS=$'\t' read -r name status _; do LIVE["$name"]="$status"; done < <(plan_helper deployed "$RUN/stacks.json")

gaps=0 checks=0
ok() { checks=$((checks + 1)); printf 'OK   %s\n' "$*"; }
gap() { checks=$((checks + 1)) gaps=$((gaps + 1)); printf 'GAP  %s\n' "$*"; }

# resources NAME: "logical<TAB>type<TAB>physical" of a deployed stack, into RESOURCE[stack/logical].
load_resources() {
  local stack="$1" logical kind physical
  while IFS=$'\t' read -r logical kind physical; do
    if [[ -n "$logical" ]]; then RESOURCE["$stack/$logical"]="$kind"$'\t'"$physical"; fi
  done < <(aws_call cloudformation list-stack-resources --stack-name "$stack" --output text \
    --query 'StackResourceSummaries[].[LogicalResourceId,ResourceType,PhysicalResourceId]')
}

mapfile -t PRODUCT < <(plan_helper plan "$BUILD_ENV_DIR" | cut -f2)
for stack in "${PRODUCT[@]}"; do
  status="${LIVE[$stack]:-NONE}"
  case "$status" in
    CREATE_COMPLETE | UPDATE_COMPLETE) ok "stack $stack $status"; load_resources "$stack" ;;
    *) gap "stack $stack is $status (expected CREATE_COMPLETE or UPDATE_COMPLETE)" ;;
  esac
done

# Legacy resources and the product stack the build puts each one in.
while IFS=$'\t' read -r legacy logical kind target table; do
  if [[ "$target" == - ]]; then
    gap "$legacy/$logical ($kind) has no counterpart in the new templates"
    continue
  fi
  found="${RESOURCE[$target/$logical]:-}"
  if [[ -z "$found" ]]; then
    gap "$legacy/$logical ($kind) is not deployed in $target"
    continue
  fi
  IFS=$'\t' read -r found_kind physical <<<"$found"
  if [[ "$found_kind" != "$kind" ]]; then
    gap "$legacy/$logical is $found_kind in $target, legacy has $kind"
  elif [[ "$kind" == AWS::DynamoDB::Table ]]; then
    expected="$table"
    if [[ -n "${LIVE[$legacy]:-}" && "$legacy" != "$target" ]]; then
      expected="$(stack_resource "$legacy" "$logical")"
      expected="${expected:-$table}"
    fi
    if [[ "$physical" == "$expected" ]]; then
      ok "$legacy/$logical -> $target/$logical, same table $physical"
    else
      gap "$legacy/$logical: $target holds table $physical, the legacy table is $expected (data would not follow)"
    fi
  else
    ok "$legacy/$logical -> $target/$logical ($kind)"
  fi
done < <(plan_helper counterparts "$BUILD_ENV_DIR")

# Runtime state of what the new stacks hold: one listing per service where the listing carries it.
declare -A RULES=()
rules_of_bus() {
  local bus="$1" rule state
  while IFS=$'\t' read -r rule state; do
    if [[ -n "$rule" ]]; then RULES["$bus|$rule"]="$state"; fi
  done < <(aws_call events list-rules --event-bus-name "$bus" --output text --query 'Rules[].[Name,State]')
}
rules_of_bus default
for key in "${!RESOURCE[@]}"; do
  IFS=$'\t' read -r kind physical <<<"${RESOURCE[$key]}"
  case "$kind" in
    AWS::Lambda::Function)
      # ListFunctions omits State: one GetFunction per function.
      state="$(aws_call lambda get-function --function-name "$physical" --query Configuration.State --output text 2>&1 || true)"
      if [[ "$state" == Active ]]; then ok "function $physical Active"; else gap "function $physical ($key) is ${state:-unknown}, not Active"; fi ;;
    AWS::StepFunctions::StateMachine)
      if aws_call stepfunctions describe-state-machine --state-machine-arn "$physical" >/dev/null 2>&1; then
        ok "state machine $physical exists"
      else
        gap "state machine $physical ($key) does not exist"
      fi ;;
    AWS::Events::Rule)
      bus=default rule="$physical"
      if [[ "$physical" == *"|"* ]]; then bus="${physical%%|*}" rule="${physical#*|}"; fi
      [[ -n "${RULES[$bus|$rule]+set}" || "$bus" == default ]] || rules_of_bus "$bus"
      state="${RULES[$bus|$rule]:-missing}"
      if [[ "$state" == ENABLED ]]; then ok "rule $rule ENABLED"; else gap "rule $rule ($key) is $state, not ENABLED"; fi ;;
  esac
done

if ((gaps)); then
  printf '%d gap(s) in %d checks of %s\n' "$gaps" "$checks" "$ENV_NAME"
  exit 1
fi
printf 'no gap in %d checks of %s\n' "$checks" "$ENV_NAME"
