#!/usr/bin/env bash
# mypy (strict) over the holdtime namespace as it is installed: the mapped folders (probes/,
# checks/, exporters/, reports/) are laid out under holdtime/ in a scratch tree of symlinks, so
# `holdtime.probes.x` resolves exactly as in the wheel. Usage: tools/typecheck.sh [mypy args]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
mypy=${MYPY:-$repo/.venv/bin/mypy}
[ -x "$mypy" ] || mypy=$repo/.venv-dev/bin/mypy
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir "$tree/holdtime"
for entry in "$repo"/holdtime/*; do ln -s "$entry" "$tree/holdtime/"; done
for folder in probes checks exporters reports; do ln -s "$repo/$folder" "$tree/holdtime/$folder"; done
cd "$tree"
"$mypy" --config-file "$repo/pyproject.toml" --no-incremental -p holdtime "$@" 2>&1 | sed -E "s#^holdtime/(probes|checks|exporters|reports)/#\1/#"
exit "${PIPESTATUS[0]}"
