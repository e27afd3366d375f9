#!/usr/bin/env bash
# install-deps.sh: make sure the Debian packages ganq builds and tests with are present.
#
#   ops/setup/install-deps.sh --check-or-install   install only what is missing (make does this)
#   ops/setup/install-deps.sh --list               print the package list
#
# Packages: ZeroMQ, protobuf-c (+ compiler), SQLite, cmocka; OpenBLAS for the CPU engine's
# heavy layers; libpng/zlib and libjpeg-turbo for the image writers; Debian's torch, numpy and
# PIL for the reference model, converters, training and the independent readers in tests.
# apt-get update runs once, and only when something is missing.
set -euo pipefail

PKGS=(build-essential pkg-config libzmq3-dev libprotobuf-c-dev protobuf-c-compiler
      libsqlite3-dev libcmocka-dev libopenblas-dev libpng-dev zlib1g-dev libjpeg-dev
      python3-torch python3-numpy python3-pil)

missing() {
    local p
    for p in "${PKGS[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
    done
}

case "${1:---check-or-install}" in
--list)
    printf '%s\n' "${PKGS[@]}"
    ;;
--check-or-install)
    mapfile -t need < <(missing)
    if [ "${#need[@]}" -eq 0 ]; then
        exit 0
    fi
    echo "install-deps: installing ${need[*]}" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
    ;;
*)
    echo "usage: $0 [--check-or-install | --list]" >&2
    exit 2
    ;;
esac
