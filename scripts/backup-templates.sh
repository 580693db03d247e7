#!/usr/bin/env bash
# Save what is deployed: template, parameters, outputs, tags of every stack, item counts of every table.
set -euo pipefail
SCRIPT_NAME=backup-templates.sh
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: scripts/backup-templates.sh ENV [--out DIR] [--dry-run]

For every deployed stack of either layout of build/ENV (product and legacy), writes
  DIR/ENV-<UTC time>/<stack>/template.json    the original template (GetTemplate, stage Original)
                            parameters.json  outputs.json  tags.json  stack.json
  DIR/ENV-<UTC time>/tables.tsv             stack, table, item count (DynamoDB's ItemCount,
                                            which AWS refreshes about every six hours)
DIR defaults to backups/ of the project (or $CEAP_BACKUP_DIR). rollback.sh restores legacy
stacks from the newest such folder. Read-only towards AWS.
  --dry-run   list the stacks that would be saved
  --build DIR build folder (default: build/ of the project)
EOF
}

ENV_NAME="" OUT=""
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --out) [[ $# -ge 2 ]] || die "--out needs a folder"; OUT="$2"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    --yes) shift ;; # read-only towards AWS: nothing to confirm
    --build) [[ $# -ge 2 ]] || die "--build needs a folder"; CEAP_BUILD_DIR="$2"; shift 2 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [[ -z "$ENV_NAME" ]] || die "one environment only (got $ENV_NAME and $1)"; ENV_NAME="$1"; shift ;;
  esac
done
[[ -n "$ENV_NAME" ]] || die "missing ENV (e.g. scripts/backup-templates.sh dev); see --help"
OUT="${OUT:-$(backup_root)}"

require_build "$ENV_NAME"
preflight
RUN="$(run_dir "backup-$ENV_NAME")"
all_stacks_json >"$RUN/stacks.json"
declare -A LIVE=()
while IFS=$'\t' read -r name status _; do LIVE["$name"]="$status"; done < <(plan_helper deployed "$RUN/stacks.json")

# Both layouts, deploy order, each name once (the database stack is in both).
mapfile -t NAMES < <({ plan_helper plan "$BUILD_ENV_DIR" --layout consolidated; plan_helper plan "$BUILD_ENV_DIR" --layout legacy; } |
  cut -f2 | awk '!seen[$0]++')
TARGETS=()
for name in "${NAMES[@]}"; do
  if [[ -n "${LIVE[$name]:-}" ]]; then TARGETS+=("$name"); fi
done
((${#TARGETS[@]})) || fail "no stack of $ENV_NAME is deployed in account $CALLER_ACCOUNT: nothing to back up"

if [[ "$DRY_RUN" == 1 ]]; then
  for name in "${TARGETS[@]}"; do log "dry run: would save $name (${LIVE[$name]})"; done
  exit 0
fi

DEST="$OUT/$ENV_NAME-$(date -u +%Y%m%dT%H%M%SZ)"
[[ ! -e "$DEST" ]] || DEST="$DEST-$$"
mkdir -p "$DEST"
printf 'stack\ttable\titems\n' >"$DEST/tables.tsv"
for name in "${TARGETS[@]}"; do
  plan_helper stack-files "$RUN/stacks.json" "$name" --out "$DEST/$name"
  aws_call cloudformation get-template --stack-name "$name" --template-stage Original \
    --query TemplateBody --output json >"$DEST/$name/template.json"
  tables=0
  while read -r table; do
    [[ -n "$table" && "$table" != None ]] || continue
    items="$(aws_call dynamodb describe-table --table-name "$table" --query Table.ItemCount --output text)"
    printf '%s\t%s\t%s\n' "$name" "$table" "$items" >>"$DEST/tables.tsv"
    log "  $name table $table: $items item(s)"
    tables=$((tables + 1))
  done < <(aws_call cloudformation list-stack-resources --stack-name "$name" --output text \
    --query "StackResourceSummaries[?ResourceType=='AWS::DynamoDB::Table'].PhysicalResourceId" | tr '\t' '\n')
  log "saved $name (${LIVE[$name]}, $(wc -c <"$DEST/$name/template.json") bytes of template, $tables table(s))"
done
log "backup of ${#TARGETS[@]} stack(s) of $ENV_NAME in $DEST"
