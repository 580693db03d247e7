#!/usr/bin/env bash
# Remove the product's stacks (never the database stack), then bring the legacy stacks back.
set -euo pipefail
SCRIPT_NAME=rollback.sh
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: scripts/rollback.sh ENV [--yes] [--dry-run] [--backups DIR]

1. Deletes the product's stacks of build/ENV (manifest.deploy) in reverse wave order, except
   the database stack (the first wave: it and its tables always stay). A failed delete is
   retried up to 3 times with exponential backoff ($CEAP_RETRY_BASE_SECONDS, default 10 s).
2. If the legacy stacks are missing, re-creates them from the newest backup under DIR
   (backup-templates.sh output; default backups/ or $CEAP_BACKUP_DIR) in legacy wave order.
Prints the time taken. Destructive: asks first; --yes answers yes; without a terminal and
without --yes it refuses.
  --dry-run   print what would be deleted and restored; change nothing
  --build DIR build folder (default: build/ of the project)
EOF
}

ENV_NAME="" BACKUPS=""
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --yes) ASSUME_YES=1; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    --backups) [[ $# -ge 2 ]] || die "--backups needs a folder"; BACKUPS="$2"; shift 2 ;;
    --build) [[ $# -ge 2 ]] || die "--build needs a folder"; CEAP_BUILD_DIR="$2"; shift 2 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [[ -z "$ENV_NAME" ]] || die "one environment only (got $ENV_NAME and $1)"; ENV_NAME="$1"; shift ;;
  esac
done
[[ -n "$ENV_NAME" ]] || die "missing ENV (e.g. scripts/rollback.sh dev --yes); see --help"
BACKUPS="${BACKUPS:-$(backup_root)}"
# Refuse before any call when nobody can answer the prompt.
[[ "$ASSUME_YES" == 1 || "$DRY_RUN" == 1 || -t 0 ]] ||
  die "rollback deletes stacks: there is no terminal to confirm, re-run with --yes"

require_build "$ENV_NAME"
preflight
started=$SECONDS
RUN="$(run_dir "rollback-$ENV_NAME")"
all_stacks_json >"$RUN/stacks.json"
declare -A LIVE=()
while IFS=$'\t' read -r name status _; do LIVE["$name"]="$status"; done < <(plan_helper deployed "$RUN/stacks.json")
mapfile -t DATABASE < <(plan_helper database "$BUILD_ENV_DIR")

# Product stacks, last wave first, without the database stack.
plan="$(plan_helper plan "$BUILD_ENV_DIR" --layout consolidated)"
DELETE=()
while IFS=$'\t' read -r _ name _; do
  [[ " ${DATABASE[*]} " == *" $name "* || -z "${LIVE[$name]:-}" ]] && continue
  DELETE=("$name" "${DELETE[@]}")
done < <(sort -s -t$'\t' -k1,1n <<<"$plan")
for name in "${DATABASE[@]}"; do log "keeping $name (database stack) ${LIVE[$name]:-not deployed}"; done

mapfile -t LEGACY < <(plan_helper legacy-only "$BUILD_ENV_DIR")
MISSING_LEGACY=()
for name in "${LEGACY[@]}"; do [[ -n "${LIVE[$name]:-}" ]] || MISSING_LEGACY+=("$name"); done
backup=""
if ((${#MISSING_LEGACY[@]})); then
  backup="$(plan_helper latest-backup "$BACKUPS" "$ENV_NAME" "${LEGACY[@]}")"
fi

for name in "${DELETE[@]}"; do log "plan: delete $name (${LIVE[$name]})"; done
((${#DELETE[@]})) || log "plan: no product stack besides the database is deployed"
if ((${#MISSING_LEGACY[@]})); then
  if [[ -n "$backup" ]]; then
    log "plan: restore ${#MISSING_LEGACY[@]} legacy stack(s) from $backup"
  else
    log "plan: legacy stacks missing (${MISSING_LEGACY[*]}) and no backup of them under $BACKUPS: not restored" \
      "(scripts/deploy.sh $ENV_NAME --layout legacy deploys them from the build)"
  fi
fi
if [[ "$DRY_RUN" == 1 ]]; then
  log "dry run: nothing changed"
  exit 0
fi
if ((${#DELETE[@]})); then
  confirm "delete ${#DELETE[@]} stack(s) of $ENV_NAME in account $CALLER_ACCOUNT (${DELETE[*]})?" || die "not confirmed: nothing changed"
fi

# Reverse wave order; the stacks of one wave import nothing from each other, so any order within it.
for name in "${DELETE[@]}"; do
  log "deleting $name"
  delete_with_retries "$name" || fail "$name could not be deleted after 3 attempts (see the events above); stacks deleted before it stay deleted"
done

if ((${#MISSING_LEGACY[@]})) && [[ -n "$backup" ]]; then
  for name in "${LEGACY[@]}"; do
    [[ " ${MISSING_LEGACY[*]} " == *" $name "* ]] || continue
    template="$backup/$name/template.json"
    template_source_args "$name" "$template" "$(sha256sum "$template" | cut -d' ' -f1)"
    params=()
    [[ "$(tr -d '[:space:]' <"$backup/$name/parameters.json")" == "[]" ]] || params=(--parameters "file://$backup/$name/parameters.json")
    log "restoring $name from $backup"
    aws_call cloudformation create-stack --stack-name "$name" "${TEMPLATE_ARGS[@]}" "${params[@]}" \
      --tags "file://$backup/$name/tags.json" --capabilities CAPABILITY_IAM CAPABILITY_NAMED_IAM >/dev/null
    wait_stack "$name" "  " || true
    [[ "$WAITED_STATUS" == CREATE_COMPLETE ]] || {
      failed_events "$name" 5
      fail "$name restore ended $WAITED_STATUS"
    }
  done
fi
log "rollback of $ENV_NAME done in $((SECONDS - started)) s (${#DELETE[@]} stack(s) deleted)"
