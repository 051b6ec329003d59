#!/usr/bin/env bash
# The document store (src/sicher/docs) against the AES-256-GCM limit of this machine, same run:
#   reference: openssl speed -evp aes-256-gcm -bytes 16384 -seconds 3   (one core, 16 KiB)
#   seal/open:  the envelope's chunk seal and open in memory (VersionCipher, one thread)
#   upload:     DocStore::Upload of a 256 MiB document: read, seal, write, commit (fsync)
#   download:   DocStore::Read of it: fetch, verify and open every chunk, deliver
# and prints each as a ratio to openssl (target for the store level: >= 0.70).
#
# Two clocks. `openssl speed` divides by CPU (user) time by default; docstore_bench reports both
# MB per CPU-second (thread CPU for seal/open, process CPU, i.e. every store thread, for
# upload/download) and MB per wall-clock second. CPU ratios compare cost per byte and are
# stable on a shared machine; wall ratios use `openssl speed -elapsed` from the same run and
# include waiting for the disk (upload fsyncs every commit).
#
# Usage: bench/docstore_vs_openssl.sh
#   DOCSTORE_BENCH_BIN  default build/release/bench/docstore_bench, then build/*/bench/...
#   SIZE_MIB=256        document size          CHUNK_KIB=1024   chunk size
#   MEM_MIB=1024        bytes sealed/opened in memory
#   BENCH_DIR=/tmp      where the temporary database goes (its disk is what upload measures)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${DOCSTORE_BENCH_BIN:-$ROOT/build/release/bench/docstore_bench}"
if [[ ! -x "$BIN" ]]; then
  BIN="$(ls -t "$ROOT"/build/*/bench/docstore_bench 2>/dev/null | head -n1 || true)"
fi
if [[ -z "$BIN" || ! -x "$BIN" ]]; then
  echo "docstore_bench not found: cmake --build --preset release --target docstore_bench" >&2
  exit 1
fi
SIZE_MIB="${SIZE_MIB:-256}"
CHUNK_KIB="${CHUNK_KIB:-1024}"
MEM_MIB="${MEM_MIB:-1024}"
BENCH_DIR="${BENCH_DIR:-${TMPDIR:-/tmp}}"
TARGET=0.70

# MB/s (10^6 bytes) from the last line of `openssl speed`, whose unit is 1000s of bytes/s.
openssl_mbps() {
  openssl speed "$@" -evp aes-256-gcm -bytes 16384 -seconds 3 2>/dev/null |
    awk '/^AES-256-GCM/ { v = $NF; sub(/k$/, "", v); printf "%.1f", v / 1000 }'
}

echo "binary: $BIN"
echo "openssl: $(openssl version)   cores: $(nproc)   load: $(cut -d' ' -f1-3 /proc/loadavg)"
OSSL_CPU="$(openssl_mbps)"
OSSL_WALL="$(openssl_mbps -elapsed)"
echo "openssl speed -evp aes-256-gcm -bytes 16384 -seconds 3: $OSSL_CPU MB/s per CPU-second," \
     "$OSSL_WALL MB/s wall-clock (-elapsed)"

OUT="$("$BIN" --size-mib "$SIZE_MIB" --chunk-kib "$CHUNK_KIB" --mem-mib "$MEM_MIB" \
       --dir "$BENCH_DIR")"
OSSL_CPU2="$(openssl_mbps)"   # again after, the mean is the reference
OSSL_CPU="$(awk -v a="$OSSL_CPU" -v b="$OSSL_CPU2" 'BEGIN { printf "%.1f", (a + b) / 2 }')"
# The disk under the database: sequential write + fsync of the same size (upload's ceiling; a
# WAL database writes each page twice, once to the WAL and once at the checkpoint).
DD_FILE="$BENCH_DIR/docstore_bench_dd.$$"
DISK="$(dd if=/dev/zero of="$DD_FILE" bs=1M count="$SIZE_MIB" conv=fsync 2>&1 |
        awk '/copied/ { for (i = 1; i <= NF; i++) if ($i == "copied,") s = $(i + 1);
                        printf "%.1f", $1 / 1e6 / s }')"
rm -f "$DD_FILE"
echo "openssl again: $OSSL_CPU2 MB/s per CPU-second (reference: mean $OSSL_CPU)"
echo

get() { awk -v n="$1" -v f="$2" '$1 == n { print $f }' <<< "$OUT"; }
line() {  # LABEL VALUE REFERENCE TARGET(or -)
  awk -v l="$1" -v s="$2" -v r="$3" -v t="$4" 'BEGIN {
    q = (r > 0) ? s / r : 0;
    verdict = (t == "-") ? "" : sprintf("  (target >= %.2f: %s)", t, (q >= t) ? "met" : "NOT met");
    printf "%-44s %9.1f MB/s  reference %9.1f  ratio %.2f%s\n", l, s, r, q, verdict }'
}
echo "chunk ${CHUNK_KIB} KiB, document ${SIZE_MIB} MiB, database in $BENCH_DIR"
line "seal in memory (per CPU-second)" "$(get seal_mem 3)" "$OSSL_CPU" "$TARGET"
line "open in memory (per CPU-second)" "$(get open_mem 3)" "$OSSL_CPU" "$TARGET"
line "upload: seal+write+commit (per CPU-second)" "$(get upload 3)" "$OSSL_CPU" "$TARGET"
line "download: read+open (per CPU-second)" "$(get download 3)" "$OSSL_CPU" "$TARGET"
line "upload (wall clock)" "$(get upload 2)" "$OSSL_WALL" -
line "download (wall clock)" "$(get download 2)" "$OSSL_WALL" -
line "upload (wall clock) vs dd conv=fsync" "$(get upload 2)" "$DISK" -
