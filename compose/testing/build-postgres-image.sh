#!/usr/bin/env bash
# Build a local PostgreSQL image without any container registry.
#
# Registries (Docker Hub etc.) are unreachable on the test machines, so tests
# cannot pull postgres:NN. Instead we debootstrap a minimal Debian root
# filesystem with postgresql-NN from the machine's own Debian mirror and
# `docker import` it as local/postgres:NN. compose/testing/compose.test.yaml
# points the `db` service at that tag.
#
# Usage: compose/testing/build-postgres-image.sh [MAJOR]   (default 15)
# Env:   RECETTE_PG_SUITE  Debian suite to bootstrap (default: bookworm)
#        RECETTE_PG_IMAGE  image tag (default: local/postgres:MAJOR)
#        FORCE=1           rebuild even if the image already exists
set -euo pipefail

major="${1:-15}"
suite="${RECETTE_PG_SUITE:-bookworm}"
image="${RECETTE_PG_IMAGE:-local/postgres:${major}}"

if [[ ! "$major" =~ ^[0-9]+$ ]]; then
    echo "build-postgres-image: major version must be a number, got '$major'" >&2
    exit 2
fi

if [[ "${FORCE:-0}" != 1 ]] && docker image inspect "$image" >/dev/null 2>&1; then
    echo "ok: image $image already present"
    exit 0
fi

# The mirror is read from the machine's apt configuration at run time, never
# hard-coded: deb822 sources first, then the legacy one-line format.
mirror=""
if [[ -r /etc/apt/sources.list.d/debian.sources ]]; then
    mirror="$(awk 'tolower($1) == "uris:" { print $2; exit }' \
        /etc/apt/sources.list.d/debian.sources)"
fi
if [[ -z "$mirror" && -r /etc/apt/sources.list ]]; then
    # deb [opts] URI suite components...
    mirror="$(awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } print $i; exit }' \
        /etc/apt/sources.list)"
fi
if [[ -z "$mirror" ]]; then
    echo "build-postgres-image: no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list" >&2
    exit 1
fi

workdir="$(mktemp -d /var/tmp/recette-pg-rootfs.XXXXXX)"
cleanup() { rm -rf --one-file-system "$workdir"; }
trap cleanup EXIT

rootfs="$workdir/rootfs"
log="$workdir/debootstrap.log"
echo "building $image: debootstrap $suite with postgresql-$major from $mirror" >&2
if ! debootstrap --variant=minbase --include="postgresql-${major}" \
        "$suite" "$rootfs" "$mirror" >"$log" 2>&1; then
    echo "build-postgres-image: debootstrap failed; last lines of its log:" >&2
    tail -n 30 "$log" >&2
    if [[ -f "$rootfs/debootstrap/debootstrap.log" ]]; then
        tail -n 30 "$rootfs/debootstrap/debootstrap.log" >&2
    fi
    exit 1
fi

# Trim what a server image never needs (downloaded .debs, apt lists, docs).
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
# Unix-socket directory for local clients (`docker compose exec db psql ...`).
# (Inside the chroot: /var/run in the rootfs is an absolute symlink to /run.)
chroot "$rootfs" install -d -m 2775 -o postgres -g postgres /run/postgresql

tar -C "$rootfs" -c . | docker import \
    -c "ENV PATH=/usr/lib/postgresql/${major}/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    -c "ENV PGDATA=/var/lib/postgresql/data" \
    - "$image" >/dev/null
echo "built: image $image ($(docker image inspect -f '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
