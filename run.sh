#!/usr/bin/env bash
# One entry point for a new machine: sets up .venv on first use, then
#   bash run.sh serve [flags]   run the service on its embedded defaults (see --help)
#   bash run.sh test            checks (generated code, ruff, mypy, import layers) and the whole test suite
#   bash run.sh bench           the benchmarks
#   bash run.sh <anything>      passed to the `foureyes` command (demo, rules check DIR, ...)
set -euo pipefail
cd "$(dirname "$0")"
VENV=.venv
stamp="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "setting up $VENV (first run installs the pinned packages) ..." >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -e ".[dev]"
  touch "$stamp"
fi
cmd="${1:-serve}"
[ $# -gt 0 ] && shift
case "$cmd" in
  test)
    "$VENV/bin/python" protos/generate.py --check
    "$VENV/bin/ruff" check .
    # mypy resolves `foureyes.*` through a link named like the package (the repo root is it)
    pkgroot=$(mktemp -d) && ln -s "$PWD" "$pkgroot/foureyes"
    MYPYPATH="$pkgroot" "$VENV/bin/mypy" --config-file pyproject.toml -p foureyes
    rm -rf "$pkgroot"
    # the layers of DESIGN.md "Layout" and protobuf only at the edge (pyproject.toml)
    "$VENV/bin/lint-imports" --no-cache
    [ $# -gt 0 ] && exec "$VENV/bin/python" -m pytest "$@"
    "$VENV/bin/python" -m pytest
    # a multi-node Ray cluster cannot share the suite's session Ray: its own invocation
    exec "$VENV/bin/python" -m pytest tests/cluster
    ;;
  bench)
    "$VENV/bin/python" -c "import matplotlib" 2>/dev/null || "$VENV/bin/pip" install -q -e ".[dev,bench]"
    exec "$VENV/bin/python" -m foureyes.benchmarks.run "$@" ;;
  *) exec "$VENV/bin/foureyes" "$cmd" "$@" ;;
esac
