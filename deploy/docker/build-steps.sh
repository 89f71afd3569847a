#!/bin/sh
# The Dockerfile's build steps, in one place, so that they can be checked without a Docker engine:
# tests/test_docker.py runs this script in fresh venvs (their python first on PATH), as CI has no engine.
#
#   build-steps wheel SRC WHEELS    build stage: the exporter's wheel and the wheels of its dependencies
#   build-steps install WHEELS      runtime stage: install them from that folder only (no index), check them
set -eu
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore

case "${1:-}" in
wheel)
    [ $# -eq 3 ] || { echo "usage: build-steps wheel SRC WHEELS" >&2; exit 2; }
    python -m pip wheel --no-cache-dir --wheel-dir "$3" "$2"
    ;;
install)
    [ $# -eq 2 ] || { echo "usage: build-steps install WHEELS" >&2; exit 2; }
    python -m pip install --no-cache-dir --no-index --find-links "$2" modelcache-exporter
    python -m pip check
    modelcache-exporter --version
    ;;
*)
    echo "usage: build-steps wheel SRC WHEELS | build-steps install WHEELS" >&2
    exit 2
    ;;
esac
