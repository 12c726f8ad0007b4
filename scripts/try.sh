#!/usr/bin/env bash
# The README's first command: the main job on the embedded default, with no Docker and no
# Scalingo account. Builds recette, checks prerequisites, builds a sample recette backup
# (Strapi-shaped: 25,000 internship offers, 12,000 housing ads, packed like a Scalingo
# backup), then runs `recette populate` with it: restore into the local target (recette's
# own PostgreSQL cluster under .recette/local), rebuild the search indexes of recette.yml,
# check them against the database, and print the run report.
#
# Search: Meilisearch at TRY_MEILISEARCH_URL (with PLUGIN_MEILISEARCH_API_KEY) when given;
# otherwise recette's Meilisearch stand-in (the test double, an in-memory server that
# speaks Meilisearch's HTTP API on 127.0.0.1), started here and stopped at exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Build prerequisites beyond the Swift toolchain: the libpq and libcurl headers (found
# through pkg-config). Installed here when missing and we may (root with apt).
missing=()
pkg-config --exists libpq || missing+=(libpq-dev)
pkg-config --exists libcurl || missing+=(libcurl4-openssl-dev)
pkg-config --exists zlib || missing+=(zlib1g-dev)
if ((${#missing[@]} > 0)); then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "== installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null \
            || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
    else
        echo "error: building recette needs ${missing[*]} (Debian/Ubuntu: sudo apt-get install ${missing[*]}; macOS: brew install libpq curl)" >&2
        exit 1
    fi
fi

echo "== building recette"
swift build
recette=.build/debug/recette

if [[ -n "${TRY_MEILISEARCH_URL:-}" ]]; then
    export PLUGIN_MEILISEARCH_URL=$TRY_MEILISEARCH_URL
else
    echo "== starting the Meilisearch stand-in on 127.0.0.1 (TRY_MEILISEARCH_URL=… uses a real one)"
    standin_out=$(mktemp)
    .build/debug/meilisearch-standin --master-key try-sh-key >"$standin_out" 2>&1 &
    standin=$!
    trap 'kill "$standin" 2>/dev/null || true; rm -f "$standin_out"' EXIT
    for _ in $(seq 1 100); do
        [[ -s $standin_out ]] && break
        sleep 0.05
    done
    PLUGIN_MEILISEARCH_URL=$(head -n 1 "$standin_out")
    [[ $PLUGIN_MEILISEARCH_URL == http://127.0.0.1:* ]] || { echo "error: the Meilisearch stand-in did not start: $(cat "$standin_out")" >&2; exit 1; }
    export PLUGIN_MEILISEARCH_URL PLUGIN_MEILISEARCH_API_KEY=try-sh-key
fi

echo "== recette doctor"
"$recette" doctor

echo "== recette sample-backup"
archive="$("$recette" sample-backup --output tmp/backups "$@")"

echo "== recette populate --backup $archive --target local"
"$recette" populate --backup "$archive" --target local

echo "== recette search status"
"$recette" search status --target local
