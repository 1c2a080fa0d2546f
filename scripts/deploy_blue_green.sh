#!/usr/bin/env bash
# Blue/green deployment of TRAIDER's execution worker and dashboard with the Helm chart in
# infrastructure/helm/traider. See --help.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RELEASE="${TRAIDER_RELEASE:-traider}"
NAMESPACE="${TRAIDER_NAMESPACE:-traider}"
CHART="${TRAIDER_CHART:-${SCRIPT_DIR}/../infrastructure/helm/traider}"
TAG=""
COMPONENT="all"
TIMEOUT="10m"
ACTION="deploy"
DRY_RUN=0

usage() {
  cat <<'EOF'
Usage: scripts/deploy_blue_green.sh --tag TAG [options]
       scripts/deploy_blue_green.sh --rollback [options]
       scripts/deploy_blue_green.sh --retire [options]

Blue/green deployment of TRAIDER's execution worker and dashboard (Helm release of infrastructure/helm/traider).

Deploy (--tag):
  1. deploy the idle colour with the new image tag (helm upgrade --reuse-values); the chart's pre-upgrade hook
     runs `traider db migrate` of the new tag first, so migrations must keep the old colour working;
  2. dashboard: wait until the idle colour is ready, then smoke-check /_stcore/health inside it;
  3. worker: hand over. Two workers must never trade at once, so the live colour is stopped first
     (activeColor=none, wait until its pod is gone), then the idle colour starts, must become ready and
     answer GET /health. If it does not, the old colour is started again and the script fails;
  4. switch the dashboard Service selector to the new colour and check it.
  The old colour stays deployed (the dashboard running, the worker at 0 replicas) for --rollback.

Rollback (--rollback): switch each component back to the other colour (it must still be deployed), with the
same hand-over for the worker and the same checks.

Retire (--retire): remove the colour that is not live (after a deploy you are satisfied with).

Options:
  --tag TAG           image tag of the new colour (deploy)
  --rollback          switch back to the previous colour
  --retire            remove the idle colour
  --component NAME    worker, dashboard or all (default: all)
  --release NAME      Helm release (default: $TRAIDER_RELEASE or traider)
  --namespace NAME    Kubernetes namespace (default: $TRAIDER_NAMESPACE or traider)
  --chart PATH        chart directory (default: infrastructure/helm/traider; run `helm dependency build` first)
  --timeout DURATION  how long to wait for each rollout or deletion (default: 10m)
  --dry-run           print the commands that would change the cluster; only read the live colours
  -h, --help          show this help

Needs helm and kubectl on PATH, pointed at the cluster. Exit status: 0 done, 1 failed (the worker is back on
its old colour when its hand-over failed), 2 usage error.
EOF
}

log() { printf '%s deploy_blue_green: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usage_error() { printf 'deploy_blue_green: %s (see --help)\n' "$*" >&2; exit 2; }

# A command that changes the cluster, or waits on a change: printed only under --dry-run.
run() {
  if [[ "${DRY_RUN}" == 1 ]]; then
    printf 'DRY-RUN: %s\n' "$*"
    return 0
  fi
  log "+ $*"
  "$@"
}

parse_args() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --tag) [[ $# -ge 2 ]] || usage_error "--tag needs a value"; TAG="$2"; shift 2 ;;
      --rollback) ACTION="rollback"; shift ;;
      --retire) ACTION="retire"; shift ;;
      --component) [[ $# -ge 2 ]] || usage_error "--component needs a value"; COMPONENT="$2"; shift 2 ;;
      --release) [[ $# -ge 2 ]] || usage_error "--release needs a value"; RELEASE="$2"; shift 2 ;;
      --namespace) [[ $# -ge 2 ]] || usage_error "--namespace needs a value"; NAMESPACE="$2"; shift 2 ;;
      --chart) [[ $# -ge 2 ]] || usage_error "--chart needs a value"; CHART="$2"; shift 2 ;;
      --timeout) [[ $# -ge 2 ]] || usage_error "--timeout needs a value"; TIMEOUT="$2"; shift 2 ;;
      --dry-run) DRY_RUN=1; shift ;;
      -h | --help) usage; exit 0 ;;
      *) usage_error "unknown argument: $1" ;;
    esac
  done
  case "${COMPONENT}" in
    worker | dashboard | all) ;;
    *) usage_error "--component must be worker, dashboard or all, not ${COMPONENT}" ;;
  esac
  if [[ "${ACTION}" == "deploy" && -z "${TAG}" ]]; then
    usage_error "name the image tag to deploy with --tag (or use --rollback / --retire)"
  fi
  if [[ "${ACTION}" != "deploy" && -n "${TAG}" ]]; then
    usage_error "--tag is for a deploy, not --${ACTION}"
  fi
}

other_color() {
  case "$1" in
    blue) echo green ;;
    green) echo blue ;;
    *) die "unexpected colour '$1'" ;;
  esac
}

# The live colour of a component, from the ConfigMap the chart renders from its values.
live_color() {
  local color
  color="$(kubectl get configmap "${RELEASE}-blue-green" --namespace "${NAMESPACE}" -o "jsonpath={.data.$1}")" \
    || die "cannot read configmap ${RELEASE}-blue-green in namespace ${NAMESPACE}: is release ${RELEASE} installed?"
  case "${color}" in
    blue | green) echo "${color}" ;;
    none) die "the worker is stopped (activeColor=none): an earlier hand-over was interrupted; start a colour with helm upgrade ${RELEASE} --reuse-values --set worker.activeColor=blue|green" ;;
    *) die "release ${RELEASE} reports colour '${color}' for $1" ;;
  esac
}

helm_upgrade() {
  run helm upgrade "${RELEASE}" "${CHART}" --namespace "${NAMESPACE}" --reuse-values --timeout "${TIMEOUT}" "$@"
}

wait_ready() {
  run kubectl rollout status "deployment/$1" --namespace "${NAMESPACE}" --timeout "${TIMEOUT}"
}

# GET a URL from inside a pod of the deployment (the worker's health server listens on 127.0.0.1 only).
smoke_check() {
  local deployment="$1" url="$2"
  run kubectl exec "deployment/${deployment}" --namespace "${NAMESPACE}" -- \
    python -c "import urllib.request; urllib.request.urlopen('${url}', timeout=10)"
}

worker_selector() {
  echo "app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=execution-worker,traider.io/color=$1"
}

# Wait until no pod matches a selector (kubectl may call "no matching resources" an error when none is left).
wait_pods_gone() {
  local selector="$1" left
  if run kubectl wait --for=delete pod --selector "${selector}" --namespace "${NAMESPACE}" --timeout "${TIMEOUT}"; then
    return 0
  fi
  left="$(kubectl get pods --selector "${selector}" --namespace "${NAMESPACE}" -o name)" || return 1
  [[ -z "${left}" ]]
}

# Start worker colour $1 after stopping $2; never two colours at once.
start_worker() {
  local to="$1" from="$2"
  helm_upgrade --set worker.activeColor=none || return 1
  wait_pods_gone "$(worker_selector "${from}")" || return 1
  helm_upgrade --set "worker.activeColor=${to}" || return 1
  wait_ready "${RELEASE}-execution-worker-${to}" || return 1
  smoke_check "${RELEASE}-execution-worker-${to}" "http://127.0.0.1:8081/health" || return 1
}

hand_over_worker() {
  local to="$1" from="$2"
  log "worker: hand-over ${from} -> ${to}"
  if start_worker "${to}" "${from}"; then
    log "worker: ${to} is live; ${from} is kept at 0 replicas"
    return 0
  fi
  log "worker: ${to} did not become healthy; starting ${from} again"
  start_worker "${from}" "${to}" || die "worker: could not restart ${from} either; the worker is NOT trading"
  die "worker: hand-over to ${to} failed; ${from} is live again"
}

switch_dashboard() {
  local to="$1" selected
  log "dashboard: switching the Service to ${to}"
  helm_upgrade --set "dashboard.activeColor=${to}"
  if [[ "${DRY_RUN}" == 1 ]]; then
    return 0
  fi
  selected="$(kubectl get service "${RELEASE}-dashboard" --namespace "${NAMESPACE}" \
    -o 'jsonpath={.spec.selector.traider\.io/color}')"
  [[ "${selected}" == "${to}" ]] || die "dashboard: the Service selects '${selected}', expected '${to}'"
  log "dashboard: the Service selects ${to}"
}

wants() { [[ "${COMPONENT}" == "all" || "${COMPONENT}" == "$1" ]]; }

deploy() {
  local worker_live="" worker_idle="" dashboard_live="" dashboard_idle=""
  local -a sets=()
  if wants worker; then
    worker_live="$(live_color worker)"
    worker_idle="$(other_color "${worker_live}")"
    sets+=(--set "worker.colors.${worker_idle}.enabled=true" --set "worker.colors.${worker_idle}.imageTag=${TAG}")
  fi
  if wants dashboard; then
    dashboard_live="$(live_color dashboard)"
    dashboard_idle="$(other_color "${dashboard_live}")"
    sets+=(--set "dashboard.colors.${dashboard_idle}.enabled=true" --set "dashboard.colors.${dashboard_idle}.imageTag=${TAG}")
  fi
  # the schema migration (a pre-upgrade hook of the chart) runs with the new code, before any Deployment moves
  sets+=(--set "migrations.imageTag=${TAG}")
  log "deploying ${TAG}: worker ${worker_live:-untouched} -> ${worker_idle:-untouched}, dashboard ${dashboard_live:-untouched} -> ${dashboard_idle:-untouched}"
  helm_upgrade "${sets[@]}"
  if wants dashboard; then
    wait_ready "${RELEASE}-dashboard-${dashboard_idle}"
    smoke_check "${RELEASE}-dashboard-${dashboard_idle}" "http://127.0.0.1:8501/_stcore/health" \
      || die "dashboard: ${dashboard_idle} fails its smoke check; the Service still selects ${dashboard_live}"
  fi
  if wants worker; then
    hand_over_worker "${worker_idle}" "${worker_live}"
  fi
  if wants dashboard; then
    switch_dashboard "${dashboard_idle}"
  fi
  log "done: ${TAG} is live; the previous colour is kept (scripts/deploy_blue_green.sh --rollback to go back)"
}

rollback() {
  local live previous
  if wants dashboard; then
    live="$(live_color dashboard)"
    previous="$(other_color "${live}")"
    log "dashboard: rolling back ${live} -> ${previous}"
    wait_ready "${RELEASE}-dashboard-${previous}"
    smoke_check "${RELEASE}-dashboard-${previous}" "http://127.0.0.1:8501/_stcore/health" \
      || die "dashboard: ${previous} fails its smoke check; the Service still selects ${live}"
    switch_dashboard "${previous}"
  fi
  if wants worker; then
    live="$(live_color worker)"
    previous="$(other_color "${live}")"
    hand_over_worker "${previous}" "${live}"
  fi
  log "rollback done"
}

retire() {
  local live idle
  local -a sets=()
  if wants worker; then
    live="$(live_color worker)"
    idle="$(other_color "${live}")"
    sets+=(--set "worker.colors.${idle}.enabled=false")
  fi
  if wants dashboard; then
    live="$(live_color dashboard)"
    idle="$(other_color "${live}")"
    sets+=(--set "dashboard.colors.${idle}.enabled=false")
  fi
  helm_upgrade "${sets[@]}"
  log "retired the idle colour (${COMPONENT}); --rollback is no longer possible until the next deploy"
}

main() {
  parse_args "$@"
  command -v helm >/dev/null 2>&1 || die "helm is not on PATH"
  command -v kubectl >/dev/null 2>&1 || die "kubectl is not on PATH"
  [[ -f "${CHART}/Chart.yaml" ]] || die "no chart at ${CHART} (--chart)"
  case "${ACTION}" in
    deploy) deploy ;;
    rollback) rollback ;;
    retire) retire ;;
  esac
}

main "$@"
