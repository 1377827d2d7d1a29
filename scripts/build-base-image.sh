#!/usr/bin/env bash
# Build localhost/newsdesk-base: a minimal Debian bookworm with python3, its venv module and CA
# certificates, made with debootstrap from the mirror apt already uses. It stands in for
# python:3.12-slim where no registry is reachable (the Dockerfile takes it as --build-arg BASE).
#
# Usage: scripts/build-base-image.sh [--force]   (root; needs podman and debootstrap)
# Reuses an existing image unless --force. Takes about a minute.
set -euo pipefail

IMAGE=${NEWSDESK_BASE_IMAGE:-localhost/newsdesk-base}
SUITE=bookworm
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

# Two runs at once (two test sessions) would debootstrap twice and race on the tag.
exec 9>/tmp/newsdesk-base-image.lock
flock 9

if [[ ${1:-} != --force ]] && podman image exists "$IMAGE"; then
    echo "$IMAGE exists (pass --force to rebuild)"
    exit 0
fi

# The first URIs: line of a deb822 source, else the first `deb` line of a one-line source.
mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources \
    2>/dev/null | grep -v security | head -n 1 || true)
if [[ -z $mirror ]]; then
    mirror=$(awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list \
        /etc/apt/sources.list.d/*.list 2>/dev/null || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}

rootfs=$(mktemp -d /tmp/newsdesk-base.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT

echo "debootstrap $SUITE from $mirror"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    "$SUITE" "$rootfs" "$mirror"

# This machine's network re-signs TLS: trust what the host trusts, for pip inside builds too.
if [[ -f $CA_BUNDLE ]]; then
    cp "$CA_BUNDLE" "$rootfs/etc/ssl/certs/ca-certificates.crt"
    printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$rootfs/etc/pip.conf"
fi
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*

tar -C "$rootfs" -c . | podman import - "$IMAGE"
echo "built $IMAGE"
