#!/usr/bin/env bash
# Smoke test of the real-Docker test setup (run scripts/install-test-prereqs.sh
# first). Proves, under a throw-away compose project:
#   1. db comes up healthy from compose.yaml + compose.test.yaml;
#   2. it answers on 127.0.0.1:PORT from the host and through `compose exec`;
#   3. no container network was created (everything is network_mode: host);
#   4. removing only the db container and its named volume leaves the other
#      services running and their volumes (meilisearch-data, strapi-uploads) and data intact;
#   5. db comes back up on a fresh, empty volume.
# Everything is removed on exit (down -v), whatever happens.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
project="recette-smoke-$$"
port="${RECETTE_TEST_DB_PORT:-55432}"
export RECETTE_TEST_DB_PORT="$port"
dc=(docker compose -p "$project"
    -f "$root/compose/compose.yaml" -f "$root/compose/testing/compose.test.yaml")

step() { printf '== %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

cleanup() {
    local rc=$?
    trap - EXIT
    if ((rc != 0)); then
        echo "-- db logs:" >&2
        "${dc[@]}" logs --no-color --tail 30 db >&2 || true
    fi
    "${dc[@]}" down -v --remove-orphans --timeout 5 >/dev/null 2>&1 || rc=1
    if [[ -n "$(docker volume ls -q --filter "name=^${project}_")" ]]; then
        echo "FAIL: volumes of $project left behind" >&2
        rc=1
    fi
    exit "$rc"
}
trap cleanup EXIT

if psql_out="$(psql -h 127.0.0.1 -p "$port" -U postgres -Atc 'select 1' 2>/dev/null)"; then
    fail "something already answers on 127.0.0.1:$port ($psql_out); set RECETTE_TEST_DB_PORT"
fi

step "up -d --wait db (project $project, port $port)"
"${dc[@]}" up -d --wait --wait-timeout 60 db

step "host psql on 127.0.0.1:$port"
version="$(psql -h 127.0.0.1 -p "$port" -U postgres -Atc 'select version()')"
echo "$version"
[[ "$version" == "PostgreSQL 15."* ]] || fail "unexpected version: $version"
dbs="$(psql -h 127.0.0.1 -p "$port" -U postgres -Atc 'select datname from pg_database order by 1' | tr '\n' ' ')"
[[ " $dbs" == *" ${POSTGRES_DB:-app} "* ]] || fail "POSTGRES_DB ${POSTGRES_DB:-app} not created (databases: $dbs)"

step "compose exec psql (TCP and Unix socket)"
[[ "$("${dc[@]}" exec -T db psql -U postgres -h 127.0.0.1 -p "$port" -Atc 'select 1')" == 1 ]] \
    || fail "exec psql over TCP"
[[ "$("${dc[@]}" exec -T db psql -U postgres -Atc 'select 1')" == 1 ]] \
    || fail "exec psql over the Unix socket"
psql -h 127.0.0.1 -p "$port" -U postgres -qc 'create table smoke_marker (id int)'

step "no container network created"
networks="$(docker network ls -q --filter "name=^${project}_")"
[[ -z "$networks" ]] || fail "compose created networks: $(docker network ls --filter "name=^${project}_")"

step "up -d --wait search cms; write marker files into their volumes"
"${dc[@]}" up -d --wait --wait-timeout 60 search cms
"${dc[@]}" exec -T search sh -c 'echo kept > /meili_data/smoke-marker'
"${dc[@]}" exec -T cms sh -c 'echo kept > /opt/app/public/uploads/smoke-marker'

step "remove only db's container and volume"
"${dc[@]}" rm -sf db
docker volume rm "${project}_db-data" >/dev/null
docker volume inspect "${project}_db-data" >/dev/null 2>&1 && fail "${project}_db-data still exists"

step "other services' volumes and data survived"
for vol in meilisearch-data strapi-uploads; do
    docker volume inspect "${project}_${vol}" >/dev/null || fail "volume ${project}_${vol} is gone"
done
running="$("${dc[@]}" ps --status running --services | sort | tr '\n' ' ')"
[[ "$running" == "cms search " ]] || fail "expected cms and search still running, got: '$running'"
[[ "$("${dc[@]}" exec -T search cat /meili_data/smoke-marker)" == kept ]] || fail "meilisearch-data lost its data"
[[ "$("${dc[@]}" exec -T cms cat /opt/app/public/uploads/smoke-marker)" == kept ]] || fail "strapi-uploads lost its data"

step "db comes back on a fresh volume"
"${dc[@]}" up -d --wait --wait-timeout 60 db
fresh="$(psql -h 127.0.0.1 -p "$port" -U postgres -Atc "select count(*) from pg_tables where tablename = 'smoke_marker'")"
[[ "$fresh" == 0 ]] || fail "db volume was not reset"

step "down -v"
echo "smoke: OK"
