#!/usr/bin/env bash
# Regenerates examples/NAME.bpf.o and examples/NAME.lskel.h from bpf/NAME.bpf.c with Debian's
# clang 14 and bpftool 7.1 (apt-get install clang llvm bpftool libbpf-dev); $BPFSIGN_EXAMPLES_OUT
# redirects the output. The objects are what `npm start` generates its skeleton from with
# bpfsign itself (a fresh machine needs no clang for it); the headers are Debian bpftool's.
# Compiled from inside bpf/ with -fdebug-compilation-dir=. (BTF names ./X.bpf.c)
# so that no machine path ends up in the BTF line info.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${BPFSIGN_EXAMPLES_OUT:-$root/examples}
cd "$root/bpf"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for name in "$@"; do
  clang -g -O2 -target bpf -I/usr/include/x86_64-linux-gnu -fdebug-compilation-dir=. \
    -c "$name.bpf.c" -o "$tmp/$name.o"
  bpftool gen skeleton -L "$tmp/$name.o" name "$name" > "$tmp/$name.lskel.h"
  mv "$tmp/$name.lskel.h" "$out/$name.lskel.h"
  cp "$tmp/$name.o" "$out/$name.bpf.o"
done
