#!/bin/sh
# Build the vcsim launcher offline from Debian's golang-github-vmware-govmomi-dev (idempotent).
# Output: tests/vcsim/build/vcsim-holdtime. Needs golang-go and golang-github-vmware-govmomi-dev.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/build/vcsim-holdtime"
gopath=/usr/share/gocode
if ! command -v go >/dev/null 2>&1; then
    echo "build.sh: go not found (apt-get install golang-go)" >&2
    exit 3
fi
if [ ! -d "$gopath/src/github.com/vmware/govmomi/simulator" ]; then
    echo "build.sh: govmomi not found under $gopath (apt-get install golang-github-vmware-govmomi-dev)" >&2
    exit 3
fi
fresh=yes
for source in "$here"/*.go; do
    [ "$out" -nt "$source" ] || fresh=no
done
if [ -x "$out" ] && [ "$fresh" = yes ]; then
    exit 0
fi
mkdir -p "$here/build"
# GOPATH mode: the Debian package is a GOPATH tree, no module proxy and no network needed.
cache="${GOCACHE:-$here/build/gocache}"
cd "$here"
GO111MODULE=off GOPATH="$gopath" GOCACHE="$cache" GOFLAGS= go build -o "$out.tmp" ./main.go ./kms.go
mv "$out.tmp" "$out"
