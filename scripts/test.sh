#!/usr/bin/env bash
# The README's test command: installs what the tests need (Docker engine, Compose v2, a local
# PostgreSQL image, shellcheck), builds, and runs every test, real services included.
# Safe to run again: every step is idempotent and fast once done.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-test-prereqs.sh

echo "== shellcheck"
shellcheck -x scripts/*.sh scripts/lib/*.sh compose/testing/*.sh

echo "== folder graph (no cycle between the folders of Sources/)"
scripts/folder-graph.py > /dev/null || { scripts/folder-graph.py | grep -A50 "^cycle"; exit 1; }

echo "== swift build"
swift build

echo "== recette generate --check"
# The committed script, compose file and .env.example are exactly what templates/ and
# recette.yml render; on a difference this prints the diff and fails.
.build/debug/recette generate --check

echo "== shellcheck populate-with-recette-data.sh"
shellcheck populate-with-recette-data.sh

echo "== swift test"
# With RECETTE_REQUIRE_DOCKER=1 the Docker tests fail, rather than skip, when no engine answers.
RECETTE_REQUIRE_DOCKER=1 swift test
