#!/usr/bin/env bash
# Compose restore benchmark: the restore benchmark's sample backup restored into the compose
# target (compose/compose.yaml + the test override: the local postgres image, host network on
# loopback) with and without --unlogged, rounds alternating, in the same invocation. The db
# server there keeps the image's wal_level (replica), unlike the local target's minimal: the
# case --unlogged is for. Needs the Docker engine and Compose v2 (scripts/install-test-prereqs.sh).
#
# What is timed: the whole `recette restore --target compose` (checks, volume reset, copy,
# pg_restore inside the container, ANALYZE, row count), and, from its phase line, the
# pg_restore part alone (for --unlogged: pre-data + SET UNLOGGED + data/post-data).
#
# Environment: BENCH_OFFERS (1000000), BENCH_HOUSING (12000), BENCH_JOBS (2), BENCH_ROUNDS (3).
# Results (recette's output per run, summary) go to tmp/bench-restore/compose-<time>/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD

offers=${BENCH_OFFERS:-1000000}
housing=${BENCH_HOUSING:-12000}
jobs=${BENCH_JOBS:-2}
rounds=${BENCH_ROUNDS:-3}
for value in "$offers" "$housing" "$jobs" "$rounds"; do
  [[ $value =~ ^[0-9]+$ ]] || { echo "BENCH_* values must be whole numbers, got '$value'" >&2; exit 2; }
done
((jobs >= 1 && rounds >= 1 && rounds <= 20)) || { echo "BENCH_JOBS must be ≥ 1, BENCH_ROUNDS 1–20" >&2; exit 2; }
timeout 5 docker info >/dev/null 2>&1 || { echo "no Docker engine answers; run scripts/install-test-prereqs.sh" >&2; exit 1; }

results=$repo/tmp/bench-restore/compose-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$results/project"
summary=$results/summary.txt
say() { printf '%s\n' "$*" | tee -a "$summary"; }

port=$(scripts/free-loopback-port.sh)
export RECETTE_COMPOSE_FILE=$repo/compose/compose.yaml
export RECETTE_COMPOSE_OVERRIDES=$repo/compose/testing/compose.test.yaml
export RECETTE_COMPOSE_PROJECT=recette-bench-$$ RECETTE_TEST_DB_PORT=$port NO_COLOR=1
compose() { docker compose -p "$RECETTE_COMPOSE_PROJECT" -f "$RECETTE_COMPOSE_FILE" -f "$RECETTE_COMPOSE_OVERRIDES" "$@"; }
cleanup() { compose down --volumes --timeout 5 >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building recette (release)"
swift build -c release --product recette
recette=$(swift build -c release --show-bin-path)/recette
archive=$(scripts/bench-sample.sh "$recette" "$offers" "$housing")
cat "$archive" >/dev/null # into the page cache for every case alike

say "recette compose restore benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $jobs job(s)"
say "sample: $(basename "$archive"), $(du -b "$archive" | awk '{ printf "%.0f MB", $1 / 1e6 }')"

declare -A wall restore
phase_sum() { # OUTPUT_FILE: seconds of the pg_restore phases (one, or the three of --unlogged)
  grep -h '^  phases:' "$1" | grep -oE '(pg_restore( \([^)]*\))?|SET UNLOGGED) [0-9.]+s' |
    awk '{ sub(/s$/, "", $NF); s += $NF } END { printf "%.1f", s }'
}
run_case() { # NAME ROUND [FLAG...]
  local name=$1 round=$2 out start
  out=$results/$name$round.txt
  echo "== ($name) recette restore --target compose${3:+ ${*:3}}, round $round (load $(cut -d' ' -f1-3 /proc/loadavg))"
  start=$EPOCHREALTIME
  "$recette" restore "$archive" --target compose --yes -q --jobs "$jobs" --project-dir "$results/project" "${@:3}" >"$out"
  wall[$name$round]=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  restore[$name$round]=$(phase_sum "$out")
  grep -h '^  phases:' "$out" | sed 's/^ */   /' | tee -a "$summary"
  say "($name$round) ${wall[$name$round]} s wall, pg_restore ${restore[$name$round]} s; $(grep -cE '^[A-Za-z0-9_.]+ +[0-9]+$' "$out") tables"
  grep -E '^[A-Za-z0-9_.]+ +[0-9]+$' "$out" >"$results/rows-$name$round.txt"
}
for ((round = 1; round <= rounds; round++)); do
  if ((round % 2 == 1)); then run_case b "$round"; run_case u "$round" --unlogged
  else run_case u "$round" --unlogged; run_case b "$round"; fi
done

for file in "$results"/rows-*.txt; do
  cmp -s "$results/rows-b1.txt" "$file" || { say "ROW COUNTS DIFFER: $(basename "$file")"; exit 1; }
done
median() { # ARRAY_NAME CASE
  local -n values=$1
  local r
  for ((r = 1; r <= rounds; r++)); do echo "${values[$2$r]}"; done | sort -g |
    awk '{ v[NR] = $1 } END { printf "%.1f", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
bw=$(median wall b) uw=$(median wall u) br=$(median restore b) ur=$(median restore u)
say ""
say "median of $rounds round(s); row counts identical in all $((2 * rounds)) restores"
say "$(printf '%-48s %8s %14s' case "wall s" "pg_restore s")"
say "$(printf '%-48s %8s %14s' "(b) recette restore --target compose" "$bw" "$br")"
say "$(printf '%-48s %8s %14s' "(u) the same with --unlogged" "$uw" "$ur")"
say "$(awk -v b="$bw" -v u="$uw" -v br="$br" -v ur="$ur" 'BEGIN { printf "--unlogged: %.2f× faster in wall time, %.2f× in the pg_restore phases", b / u, br / ur }')"
say "details: $results"
