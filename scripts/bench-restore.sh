#!/usr/bin/env bash
# Restore benchmark: the same backup restored four ways, each into a fresh cluster, timed in
# the same invocation on the same machine:
#   (a) today's script: default server settings, extract the .pgsql from the .tar.gz,
#       createdb, single-job `pg_restore --no-owner --no-privileges`;
#   (b) `recette restore ARCHIVE --target local` (a fresh RECETTE_LOCAL_DIR);
#   (u) the same with `--unlogged`;
#   (p) after (b), half of the biggest table deleted, then `recette reset --pristine`: the
#       template (b) kept has a ready copy, made in the background after (b) (how long that
#       took is printed, waited for before the clock starts), which the reset renames into
#       place. (pw) resets again at once: the next ready copy, started by (p), is still being
#       made and is waited for. (pc) resets with RECETTE_PRISTINE_SPARE=false: the template
#       cloned (its creation cost, inside (b), is printed). As root, the page cache is dropped
#       before (p) and (pc): the template is read from disk, as it is minutes after a restore
#       (this machine kind's kernel evicts pages idle for a minute, so without this the
#       figure depends on how long the steps before it took);
#   (c) an expert by hand: bulk-load settings (those recette applies) and
#       `pg_restore -j N --no-owner --no-privileges`, same extraction as (a).
# What is timed, for all of them: from the .tar.gz to a restored database. The server is
# initialised and started before the clock starts (initdb is not counted). (a) and (c): tar
# extraction + createdb + pg_restore. (b), (u): the whole `recette restore` command, which also
# lists the TOC, adds the foreign keys NOT VALID, runs ANALYZE, swaps the database in and
# counts rows exactly (its phase line shows each). After (c)'s time, what the expert still
# has to do to match (fsync back on + CHECKPOINT, ANALYZE) is timed apart: "(c) then …".
# Each case also prints the CPU it used and what other processes on the machine took.
# Then checks that the four databases hold the same rows per table and prints the ratios.
#
# Environment: BENCH_OFFERS (1000000), BENCH_HOUSING (12000), BENCH_JOBS (2: recette's and
# the expert's -j), BENCH_ROUNDS (1; order alternates a,b,u,c / c,u,b,a), RECETTE_PG_BINDIR.
# The sample backup is kept in tmp/bench-restore/ and reused by runs with the same
# parameters; results (recette's report JSON, row counts, logs) go to
# tmp/bench-restore/results-<time>/. Clusters live in a temporary directory, removed at exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD

offers=${BENCH_OFFERS:-1000000}
housing=${BENCH_HOUSING:-12000}
jobs=${BENCH_JOBS:-2}
rounds=${BENCH_ROUNDS:-1}
bindir=${RECETTE_PG_BINDIR:-/usr/lib/postgresql/15/bin}
for value in "$offers" "$housing" "$jobs" "$rounds"; do
  [[ $value =~ ^[0-9]+$ ]] || { echo "BENCH_* values must be whole numbers, got '$value'" >&2; exit 2; }
done
((jobs >= 1 && rounds >= 1 && rounds <= 20)) || { echo "BENCH_JOBS must be ≥ 1, BENCH_ROUNDS 1–20" >&2; exit 2; }
for tool in initdb pg_ctl pg_restore createdb psql; do
  [[ -x $bindir/$tool ]] || { echo "$bindir/$tool not found; set RECETTE_PG_BINDIR" >&2; exit 1; }
done

say() { printf '%s\n' "$*" | tee -a "$summary"; }
now() { printf '%s' "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# PostgreSQL refuses to run as root: the servers then run as the postgres user.
if ((EUID == 0)); then
  as_server() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }
  give_to_server() { chown -R postgres:postgres "$@"; }
else
  as_server() { "$@"; }
  give_to_server() { :; }
fi

# Every data directory started here, stopped at exit however the script ends.
servers=()
work=$(mktemp -d "${TMPDIR:-/var/tmp}/recette-bench.XXXXXX")
chmod 0755 "$work" # the server user must reach the clusters inside
cleanup() {
  local data
  for data in "${servers[@]}"; do
    if [[ -f $data/postmaster.pid ]]; then
      as_server "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 ||
        as_server "$bindir/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

results=$repo/tmp/bench-restore/results-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$results"
summary=$results/summary.txt

# --- 1. recette and the sample backup ------------------------------------------------
echo "== building recette (release)"
swift build -c release --product recette
recette=$(swift build -c release --show-bin-path)/recette

archive=$(scripts/bench-sample.sh "$recette" "$offers" "$housing")
cat "$archive" >/dev/null # into the page cache for every case alike

say "recette restore benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo), PostgreSQL $("$bindir/pg_restore" --version | awk '{ print $3 }')"
say "sample: $offers offers, $housing housing ads; archive $(basename "$archive"): $(du -b "$archive" | awk '{ printf "%.0f MB (%d bytes)", $1 / 1e6, $1 }')"
say "timed: from the .tar.gz to a restored database; servers initialised and started before the clock"

# --- helpers for (a) and (c): a cluster of our own -----------------------------------
# init_cluster DIR [SETTING...]: a fresh cluster listening on 127.0.0.1 only, started;
# sets PG* variables for the clients. Settings beyond the port/address are given as lines.
init_cluster() {
  local dir=$1 port password
  shift
  mkdir -p "$dir"
  port=$(scripts/free-loopback-port.sh)
  password=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
  printf '%s\n' "$password" >"$dir/initdb-password"
  chmod 0600 "$dir/initdb-password"
  give_to_server "$dir"
  as_server "$bindir/initdb" -D "$dir/data" -U postgres --pwfile="$dir/initdb-password" \
    --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --no-locale >"$dir/initdb.log"
  rm -f "$dir/initdb-password"
  {
    printf '\n# bench-restore\nport = %s\nlisten_addresses = '\''127.0.0.1'\''\nunix_socket_directories = '\'''\''\n' "$port"
    printf '%s\n' "$@"
  } >>"$dir/data/postgresql.conf"
  servers+=("$dir/data")
  as_server "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start >/dev/null
  printf '127.0.0.1:%s:*:postgres:%s\n' "$port" "$password" >"$dir/pgpass"
  chmod 0600 "$dir/pgpass"
  export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGPASSFILE=$dir/pgpass PGDATABASE=postgres
}

stop_cluster() {
  as_server "$bindir/pg_ctl" -D "$1" -m fast -w stop >/dev/null
}

# restore_by_hand DIR LOG [PG_RESTORE OPTION...]: what today's script does, timed by the
# caller: extract the dump from the .tar.gz, createdb, pg_restore.
restore_by_hand() {
  local dir=$1 log=$2 dump
  shift 2
  mkdir -p "$dir/dump"
  tar -xzf "$archive" -C "$dir/dump"
  dump=$(find "$dir/dump" -name '*.pgsql' -print -quit)
  "$bindir/createdb" recette
  if ! "$bindir/pg_restore" --no-owner --no-privileges "$@" -d recette "$dump" 2>"$log"; then
    # Like today's script: errors pg_restore ignored are shown, not fatal.
    grep -q 'errors ignored on restore' "$log" || { cat "$log" >&2; return 1; }
    echo "   pg_restore: $(grep 'errors ignored' "$log")"
  fi
}

# What the reference's expert still does after pg_restore, timed apart from (c): normal
# settings back (fsync on), a CHECKPOINT that makes the copy durable (recette's swap pays
# that: DROP DATABASE forces one), then ANALYZE. wall[c+ROUND] = (c) + both.
finish_by_hand() { # ROUND
  local round=$1 attempt start durable analyze
  "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -c "ALTER SYSTEM SET fsync = on" -c "ALTER SYSTEM SET full_page_writes = on" \
    -c "ALTER SYSTEM SET synchronous_commit = on" -c "SELECT pg_reload_conf()" >/dev/null
  for ((attempt = 0; attempt < 100; attempt++)); do
    [[ $("$bindir/psql" -X -At -c "SHOW fsync") == on ]] && break
    sleep 0.05
  done
  start=$(now)
  "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -c CHECKPOINT
  durable=$(elapsed "$start" "$(now)")
  start=$(now)
  "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -c ANALYZE
  analyze=$(elapsed "$start" "$(now)")
  wall[c+$round]=$(awk -v c="${wall[c$round]}" -v d="$durable" -v a="$analyze" 'BEGIN { printf "%.1f", c + d + a }')
  say "   then, not in the time above: fsync on + CHECKPOINT $durable s, ANALYZE $analyze s → ${wall[c+$round]} s in all"
}

recette_restore() { # PROJECT_DIR OUTPUT [FLAG...]
  "$recette" restore "$archive" --target local -q --jobs "$jobs" --project-dir "$1" "${@:3}" >"$2"
}

# Exact rows per table, sorted, and the database size; for the comparison after the runs.
inspect_database() { # URL|"" NAME
  local -a target=()
  [[ -n $1 ]] && target=("$1")
  "$bindir/psql" "${target[@]}" -X -At -v ON_ERROR_STOP=1 -F ' ' -c "
    SELECT table_schema || '.' || table_name,
           (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', table_schema, table_name), false, true, '')))[1]::text
    FROM information_schema.tables
    WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
    ORDER BY 1" >"$results/rows-$2.txt"
  "$bindir/psql" "${target[@]}" -X -At -v ON_ERROR_STOP=1 -c "SELECT pg_database_size(current_database())" >"$results/size-$2.txt"
}

# CPU seconds (user + system): this shell's finished children (the clients: tar, createdb,
# pg_restore, recette and its children), a server (postmaster + its live processes + the
# backends it has reaped) and the whole machine (so that other work on it shows).
hz=$(getconf CLK_TCK)
server_cpu() { # DATA_DIR
  local pid child attempt
  pid=$(head -n 1 "$1/postmaster.pid")
  # A backend's time reaches the postmaster's once it is reaped: first let the backends of
  # the clients that just ended go (back to the processes there were before, bounded).
  for ((attempt = 0; attempt < 100; attempt++)); do
    (($(pgrep -c -P "$pid") <= ${server_processes:-0})) && break
    sleep 0.05
  done
  {
    cat "/proc/$pid/stat"
    for child in $(pgrep -P "$pid"); do cat "/proc/$child/stat" 2>/dev/null || true; done
  } | awk -v hz="$hz" '{ s += $14 + $15 + (NR == 1 ? $16 + $17 : 0) } END { printf "%.2f", s / hz }'
}
cpu_mark() { # DATA_DIR: sets cpu_server, cpu_clients, cpu_machine
  times >"$work/times" # a builtin, run here: in $(…) it would see a subshell's children
  cpu_clients=$(awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); s += t[1] * 60 + t[2] } } END { printf "%.2f", s }' "$work/times")
  cpu_server=$(server_cpu "$1")
  cpu_machine=$(awk -v hz="$hz" '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / hz }' /proc/stat)
}
# time_case NAME DATA_DIR COMMAND...: runs COMMAND, keeps its wall seconds in wall[NAME] and
# prints them with the CPU it took.
declare -A wall
declare -a pristine_made pristine_bytes spare_made spare_remade spare_bytes
drop_page_cache() {
  if [[ -w /proc/sys/vm/drop_caches ]]; then
    sync
    echo 1 >/proc/sys/vm/drop_caches
    say "   page cache dropped: the template is read from disk"
  else
    say "   page cache not dropped (not root): the template may still be cached"
  fi
}
# wait_spare URL SINCE: waits until the template's ready copy exists and no session is still
# making it (bounded: 10 min); prints the seconds since SINCE.
wait_spare() {
  local url=$1 since=$2 state i
  for ((i = 0; i < 6000; i++)); do
    state=$("$bindir/psql" "$url" -X -At -c "SELECT (SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'CREATE DATABASE \"recette__recette_spare\"%' AND pid <> pg_backend_pid()) || ':' || (SELECT count(*) FROM pg_database WHERE datname = 'recette__recette_spare')")
    if [[ $state == 0:1 ]]; then elapsed "$since" "$(now)"; return 0; fi
    sleep 0.1
  done
  echo "never (10 min)"
}
time_case() {
  local name=$1 data=$2 start before
  shift 2
  server_processes=$(pgrep -c -P "$(head -n 1 "$data/postmaster.pid")")
  cpu_mark "$data"
  before="$cpu_server $cpu_clients $cpu_machine"
  start=$(now)
  "$@"
  wall[$name]=$(elapsed "$start" "$(now)")
  cpu_mark "$data"
  say "($name) ${wall[$name]} s wall"
  echo "$before $cpu_server $cpu_clients $cpu_machine ${wall[$name]}" | awk '{
    server = $4 - $1; clients = $5 - $2; others = $6 - $3 - server - clients
    if (others < 0) others = 0
    printf "   CPU: server %.1f s + clients %.1f s = %.1f s (%.2f cores busy on average); other processes: %.1f s\n",
      server, clients, server + clients, (server + clients) / $7, others }' | tee -a "$summary"
}
report_size() { # NAME
  awk -v name="$1" '{ printf "   database size: %.2f GiB (%d bytes)%s\n", $1 / 2^30, $1, ($1 < 2^30 ? " — below 1 GiB: raise BENCH_OFFERS" : "") }' "$results/size-$1.txt" | tee -a "$summary"
}

# --- the three cases -------------------------------------------------------------------
run_a() {
  local round=$1 dir=$work/a$1
  init_cluster "$dir" # default settings
  export PGDATABASE=recette
  echo "== (a) today's script, round $round (load $(load))"
  time_case "a$round" "$dir/data" restore_by_hand "$dir" "$results/pg_restore-a$round.log"
  inspect_database "" "a$round"
  report_size "a$round"
  stop_cluster "$dir/data"
  rm -rf "$dir"
  sync
}

run_recette() { # CASE ROUND [FLAG...]: (b) recette restore, (u) the same with --unlogged
  local name=$1 round=$2 dir=$work/$1$2 url
  mkdir -p "$dir/project"
  unset PGHOST PGPORT PGUSER PGPASSFILE PGDATABASE # recette reaches its own cluster
  export RECETTE_LOCAL_DIR=$dir/local
  servers+=("$dir/local/data")
  "$recette" local start -q --project-dir "$dir/project" >/dev/null
  echo "== ($name) recette restore${3:+ ${*:3}}, round $round (load $(load))"
  time_case "$name$round" "$dir/local/data" recette_restore "$dir/project" "$results/recette-$name$round.txt" "${@:3}"
  spare_since=$(now)
  grep -E '^  (phases|pg_restore phase):' "$results/recette-$name$round.txt" | sed 's/^ */   recette /' | tee -a "$summary"
  cp "$(sed -n 's/^report: //p' "$results/recette-$name$round.txt")" "$results/recette-report-$name$round.json"
  url=$(sed -n 's/^DATABASE_URL=//p' "$results/recette-$name$round.txt")
  inspect_database "$url" "$name$round"
  report_size "$name$round"
  if [[ $name == b ]]; then
    "$bindir/psql" "$url" -X -q -v ON_ERROR_STOP=1 -c "DELETE FROM offres_de_stage WHERE id % 2 = 0"
    spare_made[round]=$(wait_spare "$url" "$spare_since")
    say "   ready copy of the template made in the background after (b): ready ${spare_made[$round]} s after (b) ended (including the DELETE)"
    echo "== (p) recette reset --pristine, ready copy, round $round (load $(load))"
    drop_page_cache
    time_case "p$round" "$dir/local/data" "$recette" reset --pristine --keep-wiring --skip-reindex --yes -q --project-dir "$dir/project" >"$results/recette-p$round.txt"
    grep -q "renamed into place" "$results/recette-p$round.txt" || { say "(p) did not use the ready copy: $(head -n 1 "$results/recette-p$round.txt")"; exit 1; }
    # Not inspected here: counting every row would give the next ready copy time to finish,
    # and (pw) is to find it still being made. (pw) is inspected: the same path.
    spare_since=$(now)
    echo "== (pw) recette reset --pristine again at once, the next ready copy still being made, round $round (load $(load))"
    time_case "pw$round" "$dir/local/data" "$recette" reset --pristine --keep-wiring --skip-reindex --yes -q --project-dir "$dir/project" >"$results/recette-pw$round.txt"
    grep -q "renamed into place" "$results/recette-pw$round.txt" || { say "(pw) did not use the ready copy: $(head -n 1 "$results/recette-pw$round.txt")"; exit 1; }
    spare_remade[round]=$(wait_spare "$url" "$spare_since")
    inspect_database "$url" "pw$round"
    echo "== (pc) recette reset --pristine without a ready copy (RECETTE_PRISTINE_SPARE=false), round $round (load $(load))"
    "$bindir/psql" "$url" -X -q -v ON_ERROR_STOP=1 -c "DELETE FROM offres_de_stage WHERE id % 2 = 0"
    drop_page_cache
    RECETTE_PRISTINE_SPARE=false time_case "pc$round" "$dir/local/data" "$recette" reset --pristine --keep-wiring --skip-reindex --yes -q --project-dir "$dir/project" >"$results/recette-pc$round.txt"
    grep -q "cloned from" "$results/recette-pc$round.txt" || { say "(pc) did not clone the template: $(head -n 1 "$results/recette-pc$round.txt")"; exit 1; }
    inspect_database "$url" "pc$round"
    spare_bytes[round]=$("$bindir/psql" "$url" -X -At -c "SELECT pg_database_size(datname) FROM pg_database WHERE datname = 'recette__recette_spare'")
    pristine_made[round]=$(awk '/pristine template .* kept:/ { for (i = 1; i <= NF; i++) if ($i == "in") { v = $(i + 1); sub(/s$/, "", v); print v } }' "$results/recette-b$round.txt" | tail -n 1)
    pristine_bytes[round]=$("$bindir/psql" "$url" -X -At -c "SELECT pg_database_size(datname) FROM pg_database WHERE datname = 'recette__recette_pristine'")
    say "   template made during (b): ${pristine_made[$round]} s, $(awk -v b="${pristine_bytes[$round]}" 'BEGIN { printf "%.2f GiB", b / 2^30 }') on disk"
  fi
  "$recette" local stop -q --project-dir "$dir/project" >/dev/null
  unset RECETTE_LOCAL_DIR
  rm -rf "$dir"
  sync
}
# --keep-wiring: the prepare phase (0.0 s here) would remove two core-store rows, and the row
# counts of every case are compared.
run_b() { run_recette b "$1" --keep-wiring; }
run_u() { run_recette u "$1" --unlogged --keep-wiring; }

run_c() {
  local round=$1 dir=$work/c$1 memory=$((2048 / jobs))
  ((memory < 64)) && memory=64
  ((memory > 1024)) && memory=1024
  # The settings recette applies during its restore (LocalCluster.bulkLoadSettings for
  # $jobs jobs, and wal_level=minimal), here in postgresql.conf from the start.
  init_cluster "$dir" "fsync = off" "synchronous_commit = off" "full_page_writes = off" \
    "wal_level = minimal" "max_wal_senders = 0" "max_wal_size = 8GB" "checkpoint_timeout = 30min" \
    "autovacuum = off" "maintenance_work_mem = ${memory}MB" \
    "max_parallel_maintenance_workers = $jobs"
  export PGDATABASE=recette
  echo "== (c) expert pg_restore -j$jobs, round $round (load $(load))"
  time_case "c$round" "$dir/data" restore_by_hand "$dir" "$results/pg_restore-c$round.log" --jobs="$jobs"
  finish_by_hand "$round"
  inspect_database "" "c$round"
  report_size "c$round"
  stop_cluster "$dir/data"
  rm -rf "$dir"
  sync
}

for ((round = 1; round <= rounds; round++)); do
  if ((round % 2 == 1)); then order=(a b u c); else order=(c u b a); fi
  for case in "${order[@]}"; do "run_$case" "$round"; done
done

# --- 5. same rows everywhere, then the figures ----------------------------------------
for file in "$results"/rows-*.txt; do
  if ! cmp -s "$results/rows-a1.txt" "$file"; then
    say "ROW COUNTS DIFFER: $(basename "$file") vs rows-a1.txt"
    diff "$results/rows-a1.txt" "$file" | head -20
    exit 1
  fi
done
inspected=("$results"/rows-*.txt)
say "row counts: identical in all ${#inspected[@]} restored databases ($(wc -l <"$results/rows-a1.txt") tables, $(awk '{ n += $2 } END { print n }' "$results/rows-a1.txt") rows)"

median() { # CASE → median wall seconds over the rounds
  local r
  for ((r = 1; r <= rounds; r++)); do echo "${wall[$1$r]}"; done | sort -g |
    awk '{ v[NR] = $1 } END { printf "%.1f", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
a=$(median a) b=$(median b) u=$(median u) c=$(median c) cfull=$(median c+) p=$(median p) pw=$(median pw) pc=$(median pc)
# recette's work the others do not do (mean seconds over the rounds, from its phase lines).
phase() { # NAME
  grep -h '^  phases:' "$results"/recette-b*.txt | awk -F', ' -v name="$1" '{
    for (i = 1; i <= NF; i++) { sub(/^ *phases: /, "", $i); if ($i ~ "^" name " [0-9.]+s$") { sub(/s$/, "", $i); n = split($i, w, " "); s += w[n] } }
  } END { printf "%.1f", s / NR }'
}
analyze=$(phase analyze) count=$(phase "count rows") swap=$(phase swap)
say ""
say "$( ((rounds > 1)) && echo "median of $rounds rounds" || echo "1 round")"
{
  printf '%-52s %8s %10s\n' case "wall s" "vs (a)"
  printf '%-52s %8s %10s\n' "(a) today's script: default settings, pg_restore" "$a" "1.00×"
  printf '%-52s %8s %10s\n' "(b) recette restore --target local" "$b" "$(awk -v a="$a" -v x="$b" 'BEGIN { printf "%.2f×", a / x }')"
  printf '%-52s %8s %10s\n' "(u) recette restore --target local --unlogged" "$u" "$(awk -v a="$a" -v x="$u" 'BEGIN { printf "%.2f×", a / x }')"
  printf '%-52s %8s %10s\n' "(p) recette reset --pristine, ready copy, cold" "$p" "$(awk -v a="$a" -v x="$p" 'BEGIN { printf "%.2f×", a / x }')"
  printf '%-52s %8s %10s\n' "(pw) again at once: waits for the next ready copy" "$pw" "$(awk -v a="$a" -v x="$pw" 'BEGIN { printf "%.2f×", a / x }')"
  printf '%-52s %8s %10s\n' "(pc) without a ready copy: template cloned, cold" "$pc" "$(awk -v a="$a" -v x="$pc" 'BEGIN { printf "%.2f×", a / x }')"
  printf '%-52s %8s %10s\n' "(c) expert: bulk-load settings, pg_restore -j$jobs" "$c" "$(awk -v a="$a" -v x="$c" 'BEGIN { printf "%.2f×", a / x }')"
  printf '%-52s %8s %10s\n' "(c) then durable (CHECKPOINT) and ANALYZE, as recette" "$cfull" "$(awk -v a="$a" -v x="$cfull" 'BEGIN { printf "%.2f×", a / x }')"
} | tee -a "$summary"
say ""
say "$(awk -v a="$a" -v b="$b" 'BEGIN { r = a / b; printf "recette vs today'\''s script: %.2f× faster (target ≥ 2.5×: %s)", r, (r >= 2.5 ? "met" : "not met") }')"
say "$(awk -v b="$b" -v c="$c" -v j="$jobs" 'BEGIN { r = b / c; printf "recette vs expert -j%d: %.2f× the expert'\''s time (target: within 1.1×: %s)", j, r, (r <= 1.1 ? "met" : "not met") }')"
say "$(awk -v a="$a" -v u="$u" -v b="$b" 'BEGIN { printf "recette --unlogged vs today'\''s script: %.2f× faster; vs recette without it: %.2f× its time", a / u, u / b }')"
say "recette's work that (a) and (c) do not do (mean): ANALYZE $analyze s, exact row count $count s, swap $swap s (DROP DATABASE of the previous copy forces a checkpoint, which fsyncs the new database; (c) never syncs its database)"
say "$(awk -v a="$a" -v b="$b" -v c="$c" -v e="$(awk -v x="$analyze" -v y="$count" 'BEGIN { print x + y }')" 'BEGIN { printf "recette without ANALYZE and row count: %.1f s, %.2f× faster than (a), %.2f× the expert'\''s time", b - e, a / (b - e), (b - e) / c }')"
say "$(awk -v b="$b" -v c="$cfull" 'BEGIN { printf "recette vs the expert who also makes the copy durable and runs ANALYZE: %.2f× its time", b / c }')"
say "$(awk -v b="$b" -v p="$p" 'BEGIN { r = b / p; printf "reset --pristine (ready copy, cold) vs recette restore: %.1f× faster (target ≥ 10×: %s)", r, (r >= 10 ? "met" : "not met") }')"
say "$(awk -v b="$b" -v p="$pw" 'BEGIN { r = b / p; printf "reset --pristine at once after another (waits for the ready copy) vs recette restore: %.1f× faster", r }')"
say "$(awk -v b="$b" -v p="$pc" 'BEGIN { r = b / p; printf "reset --pristine without a ready copy (template cloned, cold) vs recette restore: %.1f× faster", r }')"
say "$(printf '%s\n' "${pristine_made[@]}" | awk '{ s += $1 } END { printf "pristine template: made in %.1f s on average during (b)", s / NR }'), $(printf '%s\n' "${pristine_bytes[@]}" | awk '{ s += $1 } END { printf "%.2f GiB on disk", s / NR / 2^30 }')"
say "$(printf '%s\n' "${spare_remade[@]}" | awk '{ s += $1 } END { printf "ready copy: ready again %.1f s on average after (pw) began, (pw) included", s / NR }'), $(printf '%s\n' "${spare_bytes[@]}" | awk '{ s += $1 } END { printf "%.2f GiB more on disk", s / NR / 2^30 }')"
say "details: $results"
