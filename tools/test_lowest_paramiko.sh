#!/usr/bin/env bash
# The SSH tests again on the lowest paramiko pyproject.toml allows (`paramiko>=X`): `make test`
# runs everything on the newest, and paramiko < 5 once broke every connection unnoticed.
# The older paramiko goes into its own directory first on PYTHONPATH (the venv is untouched),
# so pytest, the installed holdtime and the `holdtime` subprocesses of the CLI tests all use it.
set -euo pipefail
BIN=${BIN:-.venv/bin}
lowest=$(sed -n 's/^ *"paramiko>=\([0-9.]*\)".*/\1/p' pyproject.toml)
if [ -z "$lowest" ]; then
    echo "tools/test_lowest_paramiko.sh: no \"paramiko>=X\" line in pyproject.toml" >&2
    exit 2
fi
case $lowest in *.*.*) ;; *) lowest=$lowest.0 ;; esac
target=$(mktemp -d -t holdtime-paramiko-XXXXXX)
trap 'rm -rf "$target"' EXIT
"$BIN/pip" install -q --disable-pip-version-check --no-deps --target "$target" "paramiko==$lowest"
got=$(PYTHONPATH=$target "$BIN/python" -c 'import paramiko; print(paramiko.__version__)')
if [ "$got" != "$lowest" ]; then
    echo "tools/test_lowest_paramiko.sh: wanted paramiko $lowest, imported $got" >&2
    exit 1
fi
echo "== the SSH tests on paramiko $lowest (the lowest pyproject.toml allows)"
PYTHONPATH=$target "$BIN/pytest" -q -p no:cacheprovider \
    tests/unit/test_ssh*.py \
    tests/unit/test_replay.py tests/unit/test_router_probe.py \
    tests/integration/test_record_replay.py tests/integration/test_ssh_transport.py
