#!/usr/bin/env bash
# Builds the `bpfsign gen` comparison corpus (see test/fixtures/gen/README.md).
#
#   scripts/gen-corpus.sh [NAME...]        compile bpf/gen/NAME.bpf.c (default: all) into
#                                          test/fixtures/gen/NAME.bpf.o
#   BPFTOOL_V2=/path/to/bpftool-v2 scripts/gen-corpus.sh [NAME...]
#                                          also regenerate NAME.lskel.h and NAME.signed.lskel.h
#                                          (RSA-2048 test key), expected-errors.txt for the
#                                          negative objects (neg_*), and the host facts the
#                                          generation read from this machine (host.json, kallsyms)
#
# Needs Debian's clang 14, libbpf-dev and linux-libc-dev. Objects are compiled from inside
# bpf/gen/ with -fdebug-compilation-dir=. so that the BTF names the file ./NAME.bpf.c and no
# machine path ends up in the object; the same command in any clone gives the same bytes.
# $BPFSIGN_CORPUS_OUT redirects the output directory.
#
#   GEN_TRACE=/path/to/gen-trace ...       also write trace/NAME.{unsigned,signed}.trace.txt: the
#                                          bpf_gen__* calls libbpf made for each corpus object and
#                                          each vector object (format: trace/FORMAT.md)
#
#   scripts/gen-corpus.sh --check          rebuild everything into a temporary directory and
#                                          compare it with the committed fixtures (objects only,
#                                          plus headers and host facts with BPFTOOL_V2, plus
#                                          traces with GEN_TRACE)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = --check ]; then
  shift
  check=$(mktemp -d)
  trap 'rm -rf "$check"' EXIT
  BPFSIGN_CORPUS_OUT=$check "$0" "$@"
  status=0
  for f in "$check"/* "$check"/trace/*; do
    [ -f "$f" ] || continue
    cmp "$f" "$root/test/fixtures/gen/${f#"$check"/}" || status=1
  done
  [ $status -eq 0 ] && echo "gen-corpus: $(find "$check" -type f | wc -l) files identical to test/fixtures/gen"
  exit $status
fi
src=$root/bpf/gen
out=${BPFSIGN_CORPUS_OUT:-$root/test/fixtures/gen}
keys=$root/test/fixtures/vectors/keys
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ $# -eq 0 ]; then
  set -- $(cd "$src" && ls *.bpf.c | sed 's/\.bpf\.c$//')
fi

cd "$src"
for name in "$@"; do
  clang -g -O2 -target bpf -I/usr/include/x86_64-linux-gnu -fdebug-compilation-dir=. \
    -c "$name.bpf.c" -o "$tmp/$name.bpf.o"
  mv "$tmp/$name.bpf.o" "$out/$name.bpf.o"
done

# --- gen_loader call traces ----------------------------------------------------------------
if [ -n "${GEN_TRACE:-}" ]; then
  mkdir -p "$out/trace"
  for name in "$@" vectors/prog_a vectors/prog_b vectors/prog_d; do
    case $name in
      vectors/*) name=${name#vectors/}; obj=$root/test/fixtures/vectors/obj/$name.bpf.o ;;
      *) obj=$out/$name.bpf.o ;;
    esac
    for mode in unsigned signed; do
      hash=0; [ $mode = signed ] && hash=1
      # gen-trace fails (after writing the trace) for the negative objects
      "$GEN_TRACE" "$obj" "$name" $hash "$tmp/t" 2> /dev/null || [[ $name == neg_* ]]
      mv "$tmp/t.trace.txt" "$out/trace/$name.$mode.trace.txt"
      rm -f "$tmp/t.insns.bin" "$tmp/t.data.bin"
    done
  done
fi

[ -n "${BPFTOOL_V2:-}" ] || exit 0

# --- skeletons ---------------------------------------------------------------------------
errs=$tmp/expected-errors.txt
: > "$errs"
cd "$out"
for name in "$@"; do
  signed=(-L -S -k "$keys/test-only-rsa2048.key.pem" -i "$keys/test-only-rsa2048.cert.pem")
  if [[ $name == neg_* ]]; then
    # negative case: bpftool must refuse it; keep its stderr and exit status
    for mode in unsigned signed; do
      if [ $mode = unsigned ]; then args=(-L); shown="-L"; else args=("${signed[@]}"); shown="-L -S -k KEY -i CERT"; fi
      set +e
      "$BPFTOOL_V2" gen skeleton "${args[@]}" "$name.bpf.o" name "$name" > /dev/null 2> "$tmp/err"
      status=$?
      set -e
      if [ $status -eq 0 ]; then
        echo "gen-corpus: $name is a negative case but bpftool accepted it" >&2
        exit 1
      fi
      {
        echo "== $name.bpf.o $mode"
        echo "command: bpftool gen skeleton $shown $name.bpf.o name $name"
        echo "exit: $status"
        sed 's/^/stderr: /' "$tmp/err"
      } >> "$errs"
    done
    rm -f "$name.lskel.h" "$name.signed.lskel.h"
    continue
  fi
  "$BPFTOOL_V2" gen skeleton -L "$name.bpf.o" name "$name" > "$tmp/$name.lskel.h"
  "$BPFTOOL_V2" gen skeleton "${signed[@]}" "$name.bpf.o" name "$name" > "$tmp/$name.signed.lskel.h"
  mv "$tmp/$name.lskel.h" "$tmp/$name.signed.lskel.h" .
done
# only rewrite expected-errors.txt on a full run (a partial run would drop other entries)
if [ $# -eq "$(ls "$src"/*.bpf.c | wc -l)" ]; then
  mv "$errs" expected-errors.txt
fi

# --- host facts --------------------------------------------------------------------------
# Typeless ksyms: libbpf reads /proc/kallsyms and matches every extern VAR in .ksyms by name
# (a 'd' symbol may carry a .llvm.NNN suffix). Keep exactly the matching lines.
# Kconfig: CONFIG_* externs are read from /boot/config-$(uname -r), else /proc/config.gz.
ksym_vars=$tmp/ksym_vars
kcfg_vars=$tmp/kcfg_vars
: > "$ksym_vars"
: > "$kcfg_vars"
for obj in "$out"/*.bpf.o; do
  "$BPFTOOL_V2" btf dump file "$obj" | awk -v ks="$ksym_vars" -v kc="$kcfg_vars" '
    /^\[/ { sec = ($2 == "DATASEC") ? $3 : "" ; next }
    sec != "" && /\(VAR / {
      n = $0; sub(/.*\(VAR \047/, "", n); sub(/\047\).*/, "", n)
      if (sec == "\047.ksyms\047") print n >> ks
      if (sec == "\047.kconfig\047" && n ~ /^CONFIG_/) print n >> kc
    }'
done
sort -u -o "$ksym_vars" "$ksym_vars"
sort -u -o "$kcfg_vars" "$kcfg_vars"
awk -v list="$ksym_vars" 'BEGIN { while ((getline l < list) > 0) want[l] = 1 }
     { n = $3; if ($2 == "d" && index(n, ".llvm.")) n = substr(n, 1, index(n, ".llvm.") - 1)
       if (n in want) print }' /proc/kallsyms > kallsyms

release=$(uname -r)
if [ -r "/boot/config-$release" ]; then kcfg_src=/boot/config-$release; kcat=(cat "$kcfg_src")
elif [ -r /proc/config.gz ]; then kcfg_src=/proc/config.gz; kcat=(zcat /proc/config.gz)
else kcfg_src=; kcat=(true); fi
kconfig_json=$("${kcat[@]}" | awk -v list="$kcfg_vars" 'BEGIN { while ((getline l < list) > 0) want[l] = 1 }
  /^CONFIG_[A-Za-z0-9_]+=/ { n = $0; sub(/=.*/, "", n); if (n in want) { v = $0; sub(/^[^=]*=/, "", v); got[n] = v } }
  /^# CONFIG_[A-Za-z0-9_]+ is not set/ { if ($2 in want) got[$2] = "n" }
  END { sep = ""; printf "{"; for (n in want) { printf "%s\"%s\": ", sep, n; if (n in got) { v = got[n]; gsub(/"/, "\\\"", v); printf "\"%s\"", v } else printf "null"; sep = ", " } printf "}" }')
# libbpf's LINUX_KERNEL_VERSION: KERNEL_VERSION(a, b, min(c, 255)) of uname -r (this is no
# Ubuntu or Debian kernel: no /proc/version_signature, no "Debian" in uname -v)
IFS=. read -r kmaj kmin kpatch _ <<< "$(echo "$release" | sed 's/[^0-9.].*//')"
[ "$kpatch" -gt 255 ] && kpatch=255
kversion=$(( (kmaj << 16) + (kmin << 8) + kpatch ))
cat > "$tmp/host.json" <<EOF
{
  "kernelRelease": "$release",
  "linuxKernelVersion": $kversion,
  "pageSize": $(getconf PAGE_SIZE),
  "possibleCpus": $(awk -F, '{ for (i = 1; i <= NF; i++) { n = split($i, a, "-"); c += (n == 2) ? a[2] - a[1] + 1 : 1 } print c }' /sys/devices/system/cpu/possible),
  "possibleCpuList": "$(cat /sys/devices/system/cpu/possible)",
  "kconfigSource": "$kcfg_src",
  "kconfig": $kconfig_json,
  "kallsyms": "kallsyms",
  "ksymNames": [$(sed 's/.*/"&"/' "$ksym_vars" | paste -sd, | sed 's/,/, /g')],
  "bpftool": "$("$BPFTOOL_V2" version | head -2 | paste -sd' ' | sed 's/"/\\"/g')",
  "openssl": "$(openssl version | sed 's/"/\\"/g')",
  "clang": "$(clang --version | head -1 | sed 's/"/\\"/g')"
}
EOF
# formatted the way the repository's Biome wants it (the fixture is linted)
(cd "$root" && node scripts/biome.mjs format --stdin-file-path=test/fixtures/gen/host.json) \
  < "$tmp/host.json" > host.json
