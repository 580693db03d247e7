#!/usr/bin/env bash
# Deploy one workflow stack (seed 004: deploy-workflow-simple.sh -n NAME -t express|standard).
set -euo pipefail
SCRIPT_NAME=deploy-workflow.sh
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: scripts/deploy-workflow.sh -n NAME -t express|standard [-e ENV] [--yes] [--dry-run]

Deploys the workflow stack NAME of ENV (default dev) with scripts/deploy.sh --only.
  - a workflow of config/environments.yaml deploys from the committed build/ENV;
  - a workflow not in the configuration is built on the fly with the default steps of its
    type (express: ETL Filter Score Store Reactive; standard: ETL Filter HeavyETL(Glue) Score
    Store Reactive) into a temporary build, validated, and deployed;
  - a type that contradicts the configuration is refused.
The database stack of ENV must be deployed (the workflow imports its tables).
  --config FILE  configuration (default config/environments.yaml)
EOF
}

NAME="" TYPE="" ENV_NAME=dev CONFIG="" pass=()
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    -n | --name) [[ $# -ge 2 ]] || die "-n needs a workflow name"; NAME="$2"; shift 2 ;;
    -t | --type) [[ $# -ge 2 ]] || die "-t needs express or standard"; TYPE="$2"; shift 2 ;;
    -e | --env) [[ $# -ge 2 ]] || die "-e needs an environment"; ENV_NAME="$2"; shift 2 ;;
    --config) [[ $# -ge 2 ]] || die "--config needs a file"; CONFIG="$2"; shift 2 ;;
    --yes | --dry-run) pass+=("$1"); shift ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[[ -n "$NAME" ]] || die "missing -n NAME (see --help)"
[[ "$TYPE" == express || "$TYPE" == standard ]] || die "-t ${TYPE:-(missing)}: allowed express or standard"
CONFIG="${CONFIG:-$CEAP_ROOT/config/environments.yaml}"
[[ -f "$CONFIG" ]] || die "$CONFIG: configuration not found"
require_build "$ENV_NAME"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/ceap-workflow-$NAME.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
out="$(plan_helper workflow-config --config "$CONFIG" --env "$ENV_NAME" --name "$NAME" --type "$TYPE" --out "$TMP/config.yaml" 2>&1)" ||
  die "${out#error: }"
IFS=$'\t' read -r state STACK <<<"$out"

build="${CEAP_BUILD_DIR:-$CEAP_ROOT/build}"
if [[ "$state" == added ]]; then
  log "workflow $NAME is not in $CONFIG: building it ($TYPE, default steps) into $TMP/build"
  if ! out="$("${CEAP_PYTHON:-python3}" -m ceap_templates build --env "$ENV_NAME" --config "$TMP/config.yaml" \
    --source-root "$CEAP_ROOT" --out "$TMP/build" --quiet 2>&1)"; then
    die "workflow $NAME cannot be built: $(printf '%s\n' "$out" | head -n 1 | sed 's/^error: //')"
  fi
  build="$TMP/build"
else
  log "workflow $NAME ($TYPE) is configured: deploying $STACK from $build/$ENV_NAME"
fi
"$CEAP_ROOT/scripts/deploy.sh" "$ENV_NAME" --build "$build" --only "$STACK" "${pass[@]}"
