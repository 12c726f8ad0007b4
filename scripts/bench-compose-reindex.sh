#!/usr/bin/env bash
# Compose reindex benchmark: the offre-de-stage index (its hand-written query) rebuilt from the db service
# of a team's compose file (Tests/Fixtures/team-compose, the db publishing no port) three ways, in
# one invocation, alternately, twice each:
#   (port)   libpq on the db's port: the path recette takes when the service publishes one (here
#            given as RECETTE_SEARCH_DATABASE_URL: with host networking nothing is "published");
#   (socket) libpq on the server's own Unix socket, reached through the container's root
#            (/proc/<pid>/root/var/run/postgresql): the path taken when no port is published and
#            the engine is on this machine (RECETTE_COMPOSE_DB_ROUTE=auto finds it);
#   (exec)   through the service, RECETTE_COMPOSE_DB_ROUTE=exec: `docker exec … psql` streaming
#            `COPY … TO STDOUT`, the path left when the socket cannot be reached.
# Prints the throughputs (best of two) and the ratios to (port); the target is ≥ 0.9 × port for
# the no-port path (socket here).
# Every run is checked to leave exactly the query's row count of documents.
#
# Needs Docker with Compose v2 and the image local/postgres:15 (scripts/install-test-prereqs.sh).
# Environment: BENCH_ROWS (100000 offers, all published). Results: tmp/bench-compose-reindex/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD
# shellcheck source=scripts/lib/meilisearch-standin.sh
# shellcheck source=scripts/lib/meilisearch-standin.sh
source scripts/lib/meilisearch-standin.sh

rows=${BENCH_ROWS:-100000}
if ! [[ $rows =~ ^[0-9]+$ ]] || ((rows < 1)); then echo "BENCH_ROWS must be a whole number ≥ 1, got '$rows'" >&2; exit 2; fi
psql=/usr/lib/postgresql/15/bin/psql
[[ -x $psql ]] || psql=$(command -v psql)
docker image inspect local/postgres:15 >/dev/null 2>&1 || { echo "the image local/postgres:15 is missing: run scripts/install-test-prereqs.sh" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/var/tmp}/recette-bench-compose.XXXXXX")
chmod 0755 "$work" # sample-backup's cluster runs as the postgres user when we are root
project=$work/team-bench-$$
standin_pid=
cleanup() {
  [[ -n $standin_pid ]] && kill "$standin_pid" 2>/dev/null && wait "$standin_pid" 2>/dev/null
  [[ -f $project/docker-compose.yml ]] && docker compose -f "$project/docker-compose.yml" down --volumes --timeout 5 >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

results=$repo/tmp/bench-compose-reindex/results-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$results"
say() { printf '%s\n' "$*" | tee -a "$results/summary.txt"; }
now() { printf '%s' "$EPOCHREALTIME"; }

echo "== building recette and meilisearch-standin (release)"
for product in recette meilisearch-standin; do swift build -c release --product "$product" 2>&1 | tail -1; done
bin=$(swift build -c release --show-bin-path)
recette=$bin/recette

# --- the team's project: its compose file, its .env, recette.yml naming only the file ---
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$project/public/uploads"
cp Tests/Fixtures/team-compose/docker-compose.yml "$project/"
password=bench-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf 'TEAM_PREFIX=%s\nTEAM_DB_PORT=%s\nPOSTGRES_PASSWORD=%s\nMEILI_MASTER_KEY=unused\nMINIO_ROOT_PASSWORD=unused\n' \
  "team-bench-$$" "$port" "$password" >"$project/.env"
# The sample's indexes as hand-written queries, as the figures in the README were measured.
{ printf 'target: compose\ncompose:\n  file: docker-compose.yml\n'; sed -n '/^search:/,$p' scripts/lib/bench-reindex-handwritten.yml; } >"$project/recette.yml"

echo "== a sample backup with $rows offers, restored into the team's db service"
archive=$("$recette" sample-backup -q --offers "$rows" --housing 0 --app bench-compose --output "$work/backup" --project-dir "$project")
"$recette" restore "$archive" --yes -q --no-progress --project-dir "$project" >"$results/restore.txt"
url="postgresql://database-user@127.0.0.1:$port/cms-principal"
"$psql" "$url" -X -q -v ON_ERROR_STOP=1 \
  -c "UPDATE offres_de_stage SET published_at = coalesce(published_at, updated_at, now())" -c "VACUUM ANALYZE offres_de_stage"
documents=$("$psql" "$url" -X -At -c "SELECT count(*) FROM offres_de_stage")

start_meilisearch_standin "$bin" "$work"
printf 'Authorization: Bearer %s\n' "$key" >"$work/headers"
chmod 0600 "$work/headers"

declare -A best
reindex() { # CASE ROUND: one rebuild, timed, checked
  local start seconds found
  local -a route
  case $1 in
    port) route=(env RECETTE_SEARCH_DATABASE_URL="$url") ;;
    socket) route=(env RECETTE_COMPOSE_DB_ROUTE=auto) ;;
    exec) route=(env RECETTE_COMPOSE_DB_ROUTE=exec) ;;
  esac
  start=$(now)
  "${route[@]}" PLUGIN_MEILISEARCH_URL="$meili" PLUGIN_MEILISEARCH_API_KEY="$key" \
    "$recette" reindex --via direct --index offre-de-stage --no-progress --project-dir "$project" >"$results/reindex-$1-$2.txt" 2>"$results/reindex-$1-$2.log"
  seconds=$(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
  found=$(curl -sS --fail-with-body --max-time 30 -H @"$work/headers" "$meili/indexes/offre-de-stage/stats" | sed -n 's/.*"numberOfDocuments":\([0-9]*\).*/\1/p')
  [[ $found == "$documents" ]] || { say "!! ($1) the index holds $found documents, expected $documents"; exit 1; }
  # (port)'s URL is a secret setting, so its log line shows "***": it is checked by elimination.
  local -A expected=([socket]="through its socket /proc/" [exec]="through docker compose exec")
  if [[ $1 == port ]]; then
    ! grep -qE "through its socket|through docker compose exec" "$results/reindex-$1-$2.log" || { say "!! (port) did not read through the port"; exit 1; }
  else
    grep -qF "${expected[$1]}" "$results/reindex-$1-$2.log" || { say "!! ($1) did not read ${expected[$1]}…"; exit 1; }
  fi
  say "($1, round $2) $seconds s, $(awk -v n="$documents" -v s="$seconds" 'BEGIN { printf "%.0f", n / s }') docs/s"
  if [[ -z ${best[$1]:-} ]] || awk -v a="$seconds" -v b="${best[$1]}" 'BEGIN { exit !(a < b) }'; then best[$1]=$seconds; fi
}

say "compose reindex benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores; $documents documents (offre-de-stage) into the Meilisearch stand-in"
for round in 1 2; do
  for case in port socket exec; do reindex "$case" "$round"; done
done
rate() { awk -v n="$documents" -v s="${best[$1]}" 'BEGIN { printf "%.0f", n / s }'; }
port_rate=$(rate port)
say "published port (libpq):           $port_rate docs/s (best of 2: ${best[port]} s)"
for case in socket exec; do
  say "no port, $(printf '%-6s' "$case") ($( [[ $case == socket ]] && echo "libpq, its socket" || echo "docker exec psql ")): $(rate "$case") docs/s (best of 2: ${best[$case]} s), $(awk -v a="$(rate "$case")" -v b="$port_rate" 'BEGIN { printf "%.2f", a / b }')× port"
done
say "target: the no-port path (socket, auto's choice here) ≥ 0.90× port"
say "results: $results"
