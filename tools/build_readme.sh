#!/usr/bin/env bash
# README.md is assembled from docs/: the overview, then one section per feature, then the
# development notes. Edit docs/*.md, then run tools/build_readme.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
{
  cat docs/_overview.md
  for part in demo inventory lab replay router-probes vsphere kms kmip dns ldaps tls drills gap supported-outputs reports pytest exporter; do
    [ -f "docs/$part.md" ] && { echo; cat "docs/$part.md"; }
  done
  echo
  cat docs/_development.md
} > README.md
