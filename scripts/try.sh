#!/usr/bin/env bash
# The README's first command: the main job on the embedded default, with no Docker and no
# Scalingo account. Builds recette, checks prerequisites, builds a sample recette backup
# (Strapi-shaped: 25,000 internship offers, 12,000 housing ads, packed like a Scalingo
# backup), restores it into the local target (recette's own PostgreSQL cluster under
# .recette/local) and prints the row counts per table.
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

echo "== recette doctor"
"$recette" doctor

echo "== recette sample-backup"
archive="$("$recette" sample-backup --output tmp/backups "$@")"

echo "== recette restore $archive --target local"
"$recette" restore "$archive" --target local
