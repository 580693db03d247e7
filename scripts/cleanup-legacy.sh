#!/usr/bin/env bash
# Delete the legacy stacks once the new stacks carry everything (never the database stack).
set -euo pipefail
SCRIPT_NAME=cleanup-legacy.sh
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: scripts/cleanup-legacy.sh ENV [--yes] [--dry-run]

Refuses unless scripts/validate-resources.sh ENV passes now and no export of a legacy stack
is still imported (aws cloudformation list-imports) by a stack other than a legacy stack this run
deletes before it. Then deletes the legacy stacks of
build/ENV in reverse dependency order (the legacy waves, last first), never the database
stack, retrying a failed delete up to 3 times; says what it deleted.
Destructive: asks first; --yes answers yes; without a terminal and without --yes it refuses.
  --dry-run   run the checks and print what would be deleted
  --build DIR build folder (default: build/ of the project)
EOF
}

ENV_NAME="" build_args=()
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --yes) ASSUME_YES=1; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    --build) [[ $# -ge 2 ]] || die "--build needs a folder"; CEAP_BUILD_DIR="$2" build_args=(--build "$2"); shift 2 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [[ -z "$ENV_NAME" ]] || die "one environment only (got $ENV_NAME and $1)"; ENV_NAME="$1"; shift ;;
  esac
done
[[ -n "$ENV_NAME" ]] || die "missing ENV (e.g. scripts/cleanup-legacy.sh dev --yes); see --help"
[[ "$ASSUME_YES" == 1 || "$DRY_RUN" == 1 || -t 0 ]] ||
  die "cleanup-legacy deletes stacks: there is no terminal to confirm, re-run with --yes"

require_build "$ENV_NAME"
preflight
RUN="$(run_dir "cleanup-$ENV_NAME")"

log "checking that the new stacks carry every legacy resource (validate-resources.sh $ENV_NAME)"
if ! "$CEAP_ROOT/scripts/validate-resources.sh" "$ENV_NAME" "${build_args[@]}" >"$RUN/validate-resources.log" 2>&1; then
  grep '^GAP' "$RUN/validate-resources.log" | head -n 5 | sed 's/^/  /' || true
  fail "refused: validate-resources.sh $ENV_NAME reports gaps ($RUN/validate-resources.log); nothing deleted"
fi

all_stacks_json >"$RUN/stacks.json"
declare -A LIVE=()
while IFS=$'\t' read -r name status _; do LIVE["$name"]="$status"; done < <(plan_helper deployed "$RUN/stacks.json")
mapfile -t LEGACY < <(plan_helper legacy-only "$BUILD_ENV_DIR")
DELETE=() in_use=0
for name in "${LEGACY[@]}"; do
  if [[ -n "${LIVE[$name]:-}" ]]; then DELETE=("$name" "${DELETE[@]}"); fi
done
# An export may stay imported only by a legacy stack that this run deletes before its exporter
# (CloudFormation refuses to delete an exporter while an importer exists).
declare -A ORDER=()
for i in "${!DELETE[@]}"; do ORDER["${DELETE[$i]}"]="$i"; done
for name in "${DELETE[@]}"; do
  while read -r export; do
    [[ -n "$export" && "$export" != None ]] || continue
    importers="$(aws_call cloudformation list-imports --export-name "$export" --query 'Imports' --output text 2>&1 || true)"
    [[ -n "$importers" && "$importers" != *"is not imported by any stack"* && "$importers" != None ]] || continue
    read -r -a importer_list <<<"$importers"
    for importer in "${importer_list[@]}"; do
      if [[ -n "${ORDER[$importer]+set}" ]] && ((ORDER[$importer] < ORDER[$name])); then continue; fi
      log "  export $export of $name is still imported by $importer (not a legacy stack deleted before it)"
      in_use=1
    done
  done < <(aws_call cloudformation describe-stacks --stack-name "$name" --output text \
    --query 'Stacks[0].Outputs[].ExportName' | tr '\t' '\n')
done
((in_use == 0)) || fail "refused: legacy exports are still imported (move the importers first); nothing deleted"
if ((${#DELETE[@]} == 0)); then
  log "no legacy stack of $ENV_NAME is deployed: nothing to delete"
  exit 0
fi
for name in "${DELETE[@]}"; do log "plan: delete $name (${LIVE[$name]})"; done
if [[ "$DRY_RUN" == 1 ]]; then
  log "dry run: nothing changed"
  exit 0
fi
confirm "delete ${#DELETE[@]} legacy stack(s) of $ENV_NAME (${DELETE[*]})?" || die "not confirmed: nothing changed"
deleted=()
for name in "${DELETE[@]}"; do
  log "deleting $name"
  delete_with_retries "$name" || fail "$name could not be deleted (deleted so far: ${deleted[*]:-none})"
  deleted+=("$name")
done
log "deleted ${#deleted[@]} legacy stack(s): ${deleted[*]}"
