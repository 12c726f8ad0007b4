#!/usr/bin/env bash
# The README's first command: the main job on the embedded default, with no Docker and no
# Scalingo account. Builds recette, checks prerequisites, builds a sample recette backup
# (Strapi-shaped: 25,000 internship offers, 12,000 housing ads, packed like a Scalingo
# backup), restores it into the local target (recette's own PostgreSQL cluster under
# .recette/local) and prints the row counts per table.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "== building recette"
swift build
recette=.build/debug/recette

echo "== recette doctor"
"$recette" doctor

echo "== recette sample-backup"
archive="$("$recette" sample-backup --output tmp/backups "$@")"

echo "== recette restore $archive --target local"
"$recette" restore "$archive" --target local
