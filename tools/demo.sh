#!/usr/bin/env bash
# `make demo`: the mission end to end on the built-in lab. Run as root on Debian 12 after
# `make deps install` (the Makefile does both). The lab always comes down, also on failure/^C.
set -euo pipefail
prefix=${HOLDTIME_DEMO_PREFIX:-holdtime-}
out=${HOLDTIME_DEMO_OUT:-demo-output}
mkdir -p "$out"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
cleanup() { step "tearing the lab down"; holdtime lab down --prefix "$prefix" || true; }
trap cleanup EXIT

step "1/5 building the lab ($prefix*): app, router (FRR AS 64555), 2 IPsec tunnels, esg1/esg2 (AS 65010), dr, db"
holdtime lab up --prefix "$prefix"
inventory=$(holdtime lab inventory --prefix "$prefix" --path)

step "2/5 validating the lab inventory ($inventory)"
holdtime inventory validate "$inventory"

step "3/5 holdtime check: every check of the inventory, over SSH with host keys verified"
status=0
holdtime check -i "$inventory" || status=$?
holdtime check -i "$inventory" --quiet --format html --output "$out/check.html" || true
holdtime check -i "$inventory" --quiet --format junit --output "$out/check.junit.xml" || true

step "4/5 holdtime drill esg1-bgp-shutdown: shut BGP on the active edge, measure failover and failback"
holdtime drill -i "$inventory" esg1-bgp-shutdown --dry-run
holdtime drill -i "$inventory" esg1-bgp-shutdown --journal "$out/drill.jsonl" \
    --textfile "$out" || status=$?
holdtime report "$out/drill.jsonl" --format html --output "$out/drill.html" || true

step "5/5 reports"
ls -l "$out"
echo "open $out/check.html and $out/drill.html (drill timeline) in a browser"
exit "$status"
