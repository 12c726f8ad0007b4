#!/usr/bin/env bash
# Download benchmark: `recette download` against `curl` fetching the same pre-signed URL
# from the Scalingo stand-in (scalingo-standin) over loopback, in the same run.
#
#   scripts/bench-download.sh [ROUNDS]
#
# Builds the release binaries, makes (once, cached under tmp/bench/) a 1 GiB archive of
# random bytes, starts the stand-in on 127.0.0.1, then runs ROUNDS rounds (default 3). Each
# round runs every contender once, in an order that rotates from round to round:
#   curl                `curl -sS -o FILE DOWNLOAD_URL` (writes to disk, like recette)
#   recette-<transport> `recette download --no-progress -q` in a fresh project directory,
#                       with RECETTE_DOWNLOAD_TRANSPORT=<transport> (each of BENCH_TRANSPORTS)
# Every file written is compared with the source (cmp). Prints a table (wall ms, MB/s,
# peak RSS), then, against the targets, the median per-round ratio of each recette
# transport's throughput to curl's (target >= 0.9) and recette's peak RSS (target < 64 MiB).
# It reports: a missed target does not change the exit status; a failed or wrong download
# does (exit 1).
#
# Env: BENCH_SIZE_MIB    archive size in MiB (default 1024)
#      BENCH_ROUNDS      rounds, when no argument is given (default 3)
#      BENCH_TRANSPORTS  recette transports to measure (default "urlsession curl")
#      BENCH_DIR         work directory (default tmp/bench in the repository)
#      BENCH_TIMEOUT     seconds allowed for one download (default 600)
#      BENCH_SKIP_BUILD  1: use the release binaries already built
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

rounds="${1:-${BENCH_ROUNDS:-3}}"
size_mib="${BENCH_SIZE_MIB:-1024}"
read -r -a transports <<<"${BENCH_TRANSPORTS:-urlsession curl}"
bench_dir="${BENCH_DIR:-$repo_root/tmp/bench}"
per_download_timeout="${BENCH_TIMEOUT:-600}"
target_ratio=0.9
target_rss_mib=64

die() { echo "error: $*" >&2; exit 1; }
[[ "$rounds" =~ ^[1-9][0-9]?$ ]] || die "ROUNDS must be a number from 1 to 99 (got '$rounds')"
[[ "$size_mib" =~ ^[1-9][0-9]*$ ]] || die "BENCH_SIZE_MIB must be a positive number (got '$size_mib')"
((${#transports[@]} > 0)) || die "BENCH_TRANSPORTS is empty"
command -v curl >/dev/null 2>&1 || die "curl is not installed (apt-get install curl)"
command -v cmp >/dev/null 2>&1 || die "cmp is not installed (apt-get install diffutils)"

# GNU time measures peak RSS (%M, KiB) of what it runs.
gnu_time=/usr/bin/time
if [[ ! -x "$gnu_time" ]]; then
    [[ "$(id -u)" == 0 ]] || die "$gnu_time is missing: apt-get install time"
    echo "installing GNU time (apt-get install time)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends time >/dev/null \
        || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends time >/dev/null; } \
        || die "cannot install GNU time"
fi

# --- build ----------------------------------------------------------------------
if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
    echo "== swift build -c release (recette, scalingo-standin)" >&2
    swift build -c release --product recette >&2
    swift build -c release --product scalingo-standin >&2
fi
bin_dir="$(swift build -c release --show-bin-path)"
recette="$bin_dir/recette"
standin="$bin_dir/scalingo-standin"
[[ -x "$recette" && -x "$standin" ]] || die "release binaries missing in $bin_dir"

# --- archive ----------------------------------------------------------------------
mkdir -p "$bench_dir"
archive="$bench_dir/archive-${size_mib}MiB.bin"
size_bytes=$((size_mib * 1024 * 1024))
if [[ ! -f "$archive" || "$(stat -c %s "$archive")" != "$size_bytes" ]]; then
    echo "== making $archive ($size_mib MiB from /dev/urandom)" >&2
    dd if=/dev/urandom of="$archive.tmp" bs=1M count="$size_mib" iflag=fullblock status=none
    mv "$archive.tmp" "$archive"
fi
# Into the page cache, so no contender pays for the first read from disk.
cat "$archive" >/dev/null

run_dir="$bench_dir/run"
rm -rf "$run_dir"
mkdir -p "$run_dir"

# --- stand-in ---------------------------------------------------------------------
standin_pid=""
cleanup() {
    if [[ -n "$standin_pid" ]]; then
        kill -TERM "$standin_pid" 2>/dev/null || true
        wait "$standin_pid" 2>/dev/null || true
    fi
    rm -rf "$run_dir"
}
trap cleanup EXIT

# The stand-in serves until its standard input closes: a coprocess whose input pipe this
# shell holds, so it ends with the script even if the trap cannot run.
coproc STANDIN { exec "$standin" "$archive" --lifetime 7200; }
# shellcheck disable=SC2153 # STANDIN_PID is set by coproc
standin_pid="$STANDIN_PID"
download_url=""
for _ in $(seq 1 20); do
    IFS= read -r -t 30 line <&"${STANDIN[0]}" || die "the stand-in printed no DOWNLOAD_URL within 30 s"
    key="${line%%=*}"
    value="${line#*=}"
    value="${value#\'}"
    value="${value%\'}"
    [[ "$key" =~ ^[A-Z_]+$ ]] || die "unexpected line from the stand-in: $line"
    if [[ "$key" == DOWNLOAD_URL ]]; then
        download_url="$value"
        break
    fi
    # SCALINGO_API_TOKEN & co. for recette, through the environment (never a command line).
    export "$key=$value"
done
[[ -n "$download_url" ]] || die "the stand-in printed no DOWNLOAD_URL"
echo "== stand-in at ${SCALINGO_API_URL:-?} (pid $standin_pid); archive $size_mib MiB; $rounds rounds" >&2

# --- rounds -----------------------------------------------------------------------
contenders=(curl)
for t in "${transports[@]}"; do contenders+=("recette-$t"); done
results="$run_dir/results.tsv"  # round, contender, ms, peak KiB
: >"$results"

now_ns() { date +%s%N; }

# run_one ROUND CONTENDER: runs one download, checks it, appends a line to $results.
run_one() {
    local round="$1" who="$2" out="" start end rss_file="$run_dir/rss" status=0
    rm -f "$rss_file"
    case "$who" in
        curl)
            out="$run_dir/curl-$round.bin"
            start="$(now_ns)"
            "$gnu_time" -f %M -o "$rss_file" \
                timeout "$per_download_timeout" curl -sS -o "$out" "$download_url" || status=$?
            end="$(now_ns)"
            ;;
        recette-*)
            local project="$run_dir/project-$who-$round"
            mkdir -p "$project"
            start="$(now_ns)"
            out="$(RECETTE_DOWNLOAD_TRANSPORT="${who#recette-}" "$gnu_time" -f %M -o "$rss_file" \
                timeout "$per_download_timeout" "$recette" download --no-progress -q --project-dir "$project")" \
                || status=$?
            end="$(now_ns)"
            ;;
    esac
    ((status == 0)) || die "round $round: $who failed (exit $status)"
    [[ -f "$out" ]] || die "round $round: $who wrote no file (said: '$out')"
    cmp -s "$archive" "$out" || die "round $round: $who's file differs from the archive"
    printf '%s\t%s\t%s\t%s\n' "$round" "$who" "$(((end - start) / 1000000))" "$(tail -n 1 "$rss_file")" >>"$results"
    # Outside the timing: free the disk and flush dirty pages, so the next one starts even.
    rm -rf "$out" "${project:-/nonexistent}"
    sync
}

count=${#contenders[@]}
for ((round = 1; round <= rounds; round++)); do
    order=()
    for ((i = 0; i < count; i++)); do order+=("${contenders[(i + round - 1) % count]}"); done
    echo "-- round $round: ${order[*]}" >&2
    for who in "${order[@]}"; do run_one "$round" "$who"; done
done

# --- report -----------------------------------------------------------------------
echo
echo "download of a $size_mib MiB archive over loopback from the stand-in; MB = 10^6 bytes"
awk -F'\t' -v bytes="$size_bytes" '
    BEGIN { printf "%-5s  %-20s  %9s  %9s  %13s\n", "round", "contender", "wall ms", "MB/s", "peak RSS MiB" }
    { printf "%-5s  %-20s  %9d  %9.1f  %13.1f\n", $1, $2, $3, bytes / 1e6 / ($3 / 1000), $4 / 1024 }
' "$results"
echo

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mbps_of() { awk -F'\t' -v who="$1" -v bytes="$size_bytes" '$2 == who { print bytes / 1e6 / ($3 / 1000) }' "$results"; }

curl_mbps="$(mbps_of curl | median)"
printf 'curl                  median %8.1f MB/s\n' "$curl_mbps"
for t in "${transports[@]}"; do
    who="recette-$t"
    mbps="$(mbps_of "$who" | median)"
    # Per round: curl's time / recette's time (= recette's throughput / curl's); then the median.
    ratio="$(awk -F'\t' -v who="$who" '
        $2 == "curl" { c[$1] = $3 } $2 == who { r[$1] = $3 }
        END { for (k in r) if (k in c) print c[k] / r[k] }' "$results" | median)"
    verdict="$(awk -v r="$ratio" -v t="$target_ratio" 'BEGIN { print (r >= t) ? "meets" : "MISSES" }')"
    printf '%-21s median %8.1f MB/s   ratio to curl %.2f (target >= %s: %s)\n' \
        "$who" "$mbps" "$ratio" "$target_ratio" "$verdict"
done
for t in "${transports[@]}"; do
    who="recette-$t"
    peak_kib="$(awk -F'\t' -v who="$who" '$2 == who && $4 > m { m = $4 } END { print m + 0 }' "$results")"
    verdict="$(awk -v k="$peak_kib" -v t="$target_rss_mib" 'BEGIN { print (k / 1024 < t) ? "meets" : "MISSES" }')"
    printf '%-21s peak RSS %6.1f MiB (max over rounds; target < %s MiB: %s)\n' \
        "$who" "$(awk -v k="$peak_kib" 'BEGIN { print k / 1024 }')" "$target_rss_mib" "$verdict"
done
curl_peak="$(awk -F'\t' '$2 == "curl" && $4 > m { m = $4 } END { print m + 0 }' "$results")"
printf '%-21s peak RSS %6.1f MiB (for reference)\n' curl "$(awk -v k="$curl_peak" 'BEGIN { print k / 1024 }')"
