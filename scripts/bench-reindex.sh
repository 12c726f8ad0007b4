#!/usr/bin/env bash
# Reindex benchmark: the offre-de-stage index rebuilt from BENCH_ROWS database
# rows (1,000,000 by default, every one published, so one document per row) into the
# Meilisearch stand-in (meilisearch-standin, on loopback), three ways, in one invocation on
# the same machine, each into an empty index:
#   (a) `recette reindex --index offre-de-stage` (release build) with the hand-written query
#       of scripts/lib/bench-reindex-handwritten.yml, timed, peak RSS by /usr/bin/time; run
#       again on a copy of the database holding a quarter of the rows, to show whether memory
#       grows with the row count;
#   (g) the same index from the sample's CMS source (no search.indexes: the query generated
#       from the model, the plugin's exact documents), against (a);
#   (b) the Strapi plugin's strategy (plugin-strategy-baseline): 500-entry pages read by
#       OFFSET, one JSON POST per page; faster than the real plugin (no Strapi in between);
#   (c) an expert by hand: `psql -c "COPY (…) TO STDOUT"` | `split -C 16M` | one
#       `curl --data-binary` per 16 MB NDJSON batch, then waiting for the last task;
#   (t) (a) with a trivial Node transform on the index (`transform: [node, transform.js]`:
#       each line of its standard input parsed and printed again), against (a).
# Every case is timed from its start to the moment Meilisearch reports its last task
# succeeded, and every index is checked to hold exactly the rows' count of documents.
# The stand-in does what Meilisearch's API does (tasks, NDJSON, JSON arrays) but not its
# indexing work: the figures compare the three clients, not Meilisearch.
#
# Environment: BENCH_ROWS (1000000), BENCH_PLUGIN_ROWS (BENCH_ROWS: the rows (b) indexes; the
# plugin strategy's OFFSET pages cost grows with the square of the rows), RECETTE_PG_BINDIR.
# The sample backup is kept in tmp/bench-reindex/ and reused by runs with the same BENCH_ROWS;
# results go to tmp/bench-reindex/results-<time>/. The cluster and the stand-in live in a
# temporary directory, stopped and removed at exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD
# shellcheck source=scripts/lib/meilisearch-standin.sh
# shellcheck source=scripts/lib/meilisearch-standin.sh
source scripts/lib/meilisearch-standin.sh

rows=${BENCH_ROWS:-1000000}
plugin_rows=${BENCH_PLUGIN_ROWS:-$rows}
bindir=${RECETTE_PG_BINDIR:-/usr/lib/postgresql/15/bin}
for value in "$rows" "$plugin_rows"; do
  [[ $value =~ ^[0-9]+$ ]] || { echo "BENCH_ROWS and BENCH_PLUGIN_ROWS must be whole numbers, got '$value'" >&2; exit 2; }
done
((rows >= 4 && plugin_rows >= 1 && plugin_rows <= rows)) || { echo "BENCH_ROWS must be ≥ 4 and BENCH_PLUGIN_ROWS between 1 and BENCH_ROWS" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "/usr/bin/time (GNU time) is needed for the peak memory: apt-get install time" >&2; exit 1; }
for tool in psql curl split; do
  command -v "$tool" >/dev/null || [[ -x $bindir/$tool ]] || { echo "$tool not found" >&2; exit 1; }
done
psql=$bindir/psql
[[ -x $psql ]] || psql=$(command -v psql)

work=$(mktemp -d "${TMPDIR:-/var/tmp}/recette-bench-reindex.XXXXXX")
chmod 0755 "$work" # the postgres user must reach the cluster inside when we are root
standin_pid=
cleanup() {
  [[ -n $standin_pid ]] && kill "$standin_pid" 2>/dev/null && wait "$standin_pid" 2>/dev/null
  if [[ -n ${recette:-} && -d $work/cluster/data ]]; then
    RECETTE_LOCAL_DIR=$work/cluster "$recette" local stop -q --project-dir "$work/project" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

results=$repo/tmp/bench-reindex/results-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$results"
summary=$results/summary.txt
say() { printf '%s\n' "$*" | tee -a "$summary"; }
now() { printf '%s' "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# --- 1. the programs ------------------------------------------------------------------
echo "== building recette, meilisearch-standin, plugin-strategy-baseline (release)"
for product in recette meilisearch-standin plugin-strategy-baseline; do
  swift build -c release --product "$product" 2>&1 | tail -1
done
bin=$(swift build -c release --show-bin-path)
recette=$bin/recette

# --- 2. the database: the sample backup with BENCH_ROWS offers, restored, all published ---
export RECETTE_LOCAL_DIR=$work/cluster
mkdir -p "$work/project"
handwritten=scripts/lib/bench-reindex-handwritten.yml
cp "$handwritten" "$work/project/recette.yml" # the index recette rebuilds, its query by hand
# (t)'s project: the same, with a transform on offre-de-stage that changes nothing. It
# waits for 'drain' when its output pipe is full: back-pressure on both sides.
mkdir -p "$work/project-t"
awk '{ print } /^ *content_type: api::offre-de-stage\.offre-de-stage$/ { print "      transform: [node, transform.js]" }' "$handwritten" >"$work/project-t/recette.yml"
grep -q 'transform: \[node, transform.js\]' "$work/project-t/recette.yml" || { echo "could not add the transform to $handwritten's offre-de-stage" >&2; exit 1; }
cat >"$work/project-t/transform.js" <<'JS'
const readline = require('node:readline');
const { once } = require('node:events');
(async () => {
  for await (const line of readline.createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    if (!process.stdout.write(JSON.stringify(JSON.parse(line)) + '\n')) await once(process.stdout, 'drain');
  }
})();
JS
command -v node >/dev/null || { echo "node is needed for case (t)" >&2; exit 1; }
# (g)'s project: no search.indexes, the CMS source the sample goes with (it does not depend
# on the row count: a 4-offer sample-backup writes it).
mkdir -p "$work/project-g"
"$recette" sample-backup -q --offers 4 --housing 0 --app bench-cms --output "$work/cms-sample" --cms-source "$work/cms" --project-dir "$work/project-g" >/dev/null
printf 'strapi:\n  project: %s\n' "$work/cms" >"$work/project-g/recette.yml"
sample=$repo/tmp/bench-reindex/sample-offers$rows
if [[ -f $sample/complete ]]; then
  archive=$sample/$(cat "$sample/complete")
  echo "== reusing the sample backup $archive"
else
  echo "== building a sample backup with $rows offers"
  rm -rf "$sample"
  mkdir -p "$sample"
  archive=$("$recette" sample-backup -q --offers "$rows" --housing 0 --app bench-reindex --output "$sample" --project-dir "$work/project")
  basename "$archive" >"$sample/complete"
fi
echo "== restoring it into a throwaway local cluster"
RECETTE_DATABASE=bench_full "$recette" restore "$archive" --target local -q --project-dir "$work/project" >"$results/restore.txt"
url_full=$(sed -n 's/^DATABASE_URL=//p' "$results/restore.txt" | head -1)
[[ -n $url_full ]] || { echo "recette restore printed no DATABASE_URL (see $results/restore.txt)" >&2; exit 1; }
url_quarter=${url_full/\/bench_full/\/bench_quarter}
quarter=$((rows / 4))
"$psql" "$url_full" -X -q -v ON_ERROR_STOP=1 \
  -c "UPDATE offres_de_stage SET published_at = coalesce(published_at, updated_at, now())" -c "VACUUM ANALYZE offres_de_stage"
"$psql" "${url_full/\/bench_full/\/postgres}" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE bench_quarter TEMPLATE bench_full"
"$psql" "$url_quarter" -X -q -v ON_ERROR_STOP=1 \
  -c "DELETE FROM offres_de_stage WHERE id NOT IN (SELECT id FROM offres_de_stage ORDER BY id LIMIT $quarter)" -c "VACUUM ANALYZE offres_de_stage"

# The index's hand-written query: the block under `query: |` of offre-de-stage.
query=$(awk '
  /^ *- uid: / { inside = ($3 == "offre-de-stage") }
  inside && /^ *query: \|/ { match($0, /^ */); indent = RLENGTH; reading = 1; next }
  reading { match($0, /^ */); if (RLENGTH <= indent && $0 !~ /^ *$/) exit; print }
' "$handwritten")
[[ $query == *offres_de_stage* ]] || { echo "could not read the offre-de-stage query from $handwritten" >&2; exit 1; }
count_rows() { "$psql" "$1" -X -At -v ON_ERROR_STOP=1 -c "SELECT count(*) FROM ($query) AS d"; }
documents_full=$(count_rows "$url_full")
documents_quarter=$(count_rows "$url_quarter")

# --- 3. the stand-in -------------------------------------------------------------------
start_meilisearch_standin "$bin" "$work"
# The key goes to curl in a header file, never in its arguments.
printf 'Authorization: Bearer %s\nContent-Type: application/x-ndjson\n' "$key" >"$work/headers"
chmod 0600 "$work/headers"
meili_get() { curl -sS --fail-with-body --max-time 30 -H @"$work/headers" "$meili$1"; }
meili_delete() { curl -sS --fail-with-body --max-time 30 -X DELETE -H @"$work/headers" "$meili$1"; }
json_number() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" | head -1; }
wait_task() { # UID: bounded (30 min), 0.1 s polls
  local status attempt
  for ((attempt = 0; attempt < 18000; attempt++)); do
    status=$(meili_get "/tasks/$1" | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')
    case $status in
      succeeded) return 0 ;;
      failed | canceled) echo "task $1 $status: $(meili_get "/tasks/$1")" >&2; return 1 ;;
    esac
    sleep 0.1
  done
  echo "task $1 still not finished after 30 min" >&2
  return 1
}
documents_in() { meili_get "/indexes/$1/stats" | json_number numberOfDocuments; }
drop_index() { local task; task=$(meili_delete "/indexes/$1" | json_number taskUid); wait_task "$task"; }
check_documents() { # INDEX EXPECTED CASE
  local found
  found=$(documents_in "$1")
  [[ $found == "$2" ]] || { say "!! ($3) index $1 holds $found documents, expected $2"; exit 1; }
}

say "recette reindex benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo), PostgreSQL $("$psql" --version | awk '{ print $3 }')"
say "index offre-de-stage ($handwritten): $documents_full documents from $rows rows; the quarter copy: $documents_quarter documents"
say "Meilisearch: the stand-in (meilisearch-standin, release build) on loopback; timed: from the start to the last task succeeded"
say ""

# --- 4. the cases ------------------------------------------------------------------------
recette_reindex() { # DATABASE LABEL [PROJECT]
  local start end
  start=$(now)
  RECETTE_DATABASE=$1 PLUGIN_MEILISEARCH_URL=$meili PLUGIN_MEILISEARCH_API_KEY=$key \
    /usr/bin/time -f '%M %e %U %S' -o "$work/time-$2" \
    "$recette" reindex --via direct --index offre-de-stage --target local --json --no-progress --project-dir "${3:-$work/project}" >"$results/reindex-$2.json" 2>"$results/reindex-$2.log"
  end=$(now)
  wall[$2]=$(elapsed "$start" "$end")
  local peak user system
  read -r peak _ user system <"$work/time-$2"
  rss[$2]=$peak
  cpu[$2]=$(awk -v u="$user" -v s="$system" 'BEGIN { printf "%.1f", u + s }')
}
declare -A wall rss cpu

echo "== (a) recette reindex, $documents_full documents"
recette_reindex bench_full a
check_documents offre-de-stage "$documents_full" a
say "(a) recette reindex:        ${wall[a]} s, $(rate "$documents_full" "${wall[a]}") docs/s, peak RSS $((rss[a] / 1024)) MiB, CPU ${cpu[a]} s"
drop_index offre-de-stage

echo "== (g) recette reindex from the CMS source's model, $documents_full documents"
recette_reindex bench_full g "$work/project-g"
check_documents offre-de-stage "$documents_full" g
say "(g) recette, generated query: ${wall[g]} s, $(rate "$documents_full" "${wall[g]}") docs/s, peak RSS $((rss[g] / 1024)) MiB, CPU ${cpu[g]} s"
drop_index offre-de-stage

echo "== (t) recette reindex through a trivial node transform, $documents_full documents"
recette_reindex bench_full t "$work/project-t"
check_documents offre-de-stage "$documents_full" t
say "(t) recette + node transform: ${wall[t]} s, $(rate "$documents_full" "${wall[t]}") docs/s, peak RSS $((rss[t] / 1024)) MiB (the larger of recette and node), CPU ${cpu[t]} s (both)"
drop_index offre-de-stage

echo "== (b) the plugin's strategy, $plugin_rows documents"
plugin_url=$url_full
if ((plugin_rows != rows)); then
  "$psql" "${url_full/\/bench_full/\/postgres}" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE bench_plugin TEMPLATE bench_full"
  plugin_url=${url_full/\/bench_full/\/bench_plugin}
  "$psql" "$plugin_url" -X -q -v ON_ERROR_STOP=1 \
    -c "DELETE FROM offres_de_stage WHERE id NOT IN (SELECT id FROM offres_de_stage ORDER BY id LIMIT $plugin_rows)" -c "VACUUM ANALYZE offres_de_stage"
fi
documents_plugin=$(count_rows "$plugin_url")
start=$(now)
MEILI_KEY=$key "$bin/plugin-strategy-baseline" "$plugin_url" "$meili" bench-plugin _meilisearch_id "$query" offres_de_stage 500 >"$results/plugin.txt"
wall[b]=$(elapsed "$start" "$(now)")
check_documents bench-plugin "$documents_plugin" b
say "(b) the plugin's strategy:  ${wall[b]} s, $(rate "$documents_plugin" "${wall[b]}") docs/s ($documents_plugin documents, $(sed -n 's/.*pages=//p' "$results/plugin.txt") pages of 500)"
drop_index bench-plugin

echo "== (c) psql COPY | split -C 16M | curl, $documents_full documents"
: >"$work/psql-tasks"
start=$(now)
"$psql" "$url_full" -X -q -v ON_ERROR_STOP=1 \
  -c "COPY (SELECT row_to_json(d) FROM ($query) AS d) TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')" |
  split -C 16M --filter "curl -sS --fail-with-body --max-time 300 -X POST -H @'$work/headers' --data-binary @- '$meili/indexes/bench-psql/documents?primaryKey=_meilisearch_id' >>'$work/psql-tasks' && echo >>'$work/psql-tasks'" -
last_task=$(grep -o '"taskUid":[0-9]*' "$work/psql-tasks" | tail -1 | cut -d: -f2)
wait_task "$last_task"
wall[c]=$(elapsed "$start" "$(now)")
check_documents bench-psql "$documents_full" c
say "(c) psql | split | curl:    ${wall[c]} s, $(rate "$documents_full" "${wall[c]}") docs/s ($(grep -c taskUid "$work/psql-tasks") batches)"
drop_index bench-psql

echo "== (a/4) recette reindex, $documents_quarter documents"
recette_reindex bench_quarter q
check_documents offre-de-stage "$documents_quarter" a/4
say "(a/4) recette, quarter:     ${wall[q]} s, $(rate "$documents_quarter" "${wall[q]}") docs/s, peak RSS $((rss[q] / 1024)) MiB, CPU ${cpu[q]} s"

say ""
rate_a=$(rate "$documents_full" "${wall[a]}")
say "recette vs the plugin's strategy: $(ratio "$rate_a" "$(rate "$documents_plugin" "${wall[b]}")")× the docs/s (target ≥ 10×)"
say "recette vs psql | curl:           $(ratio "$rate_a" "$(rate "$documents_full" "${wall[c]}")")× the docs/s (target ≥ 0.8×)"
say "generated query (g) vs by hand (a): $(ratio "$(rate "$documents_full" "${wall[g]}")" "$rate_a")× the docs/s (target ≥ 0.9×)"
say "with a trivial node transform:    $(ratio "$(rate "$documents_full" "${wall[t]}")" "$rate_a")× the docs/s of (a) (target ≥ 0.5×)"
say "recette's peak RSS:               $((rss[a] / 1024)) MiB for $documents_full documents, $((rss[q] / 1024)) MiB for $documents_quarter: $(ratio "${rss[a]}" "${rss[q]}")× for 4× the rows (target < 150 MiB, flat)"
say "results: $results"
