#!/usr/bin/env bash
# The audit log (src/sicher/audit) against raw SQLite, same run (bench/audit_bench.cc):
#   append:    T threads (default 64) each appending one document.read event per store write,
#              each acknowledged only after its commit (group commit: one fsync per batch of
#              whatever is queued), for SECONDS; also INFLIGHT WriteAsync appends kept in flight.
#   reference: raw SQLite (sqlite3 C API, the store's pragmas: WAL, synchronous=FULL,
#              secure_delete, foreign_keys) inserting the rows the threads phase stored (same
#              sealed payloads and hashes, same audit_events schema and indexes) in ONE
#              transaction, no crypto; median of RAW_RUNS fresh databases.
#   breakdown: single-thread in-memory cost of each step of Log::Append (record + canonical
#              JSON, SHA-256 leaf hash, DEK unwrap, AES-GCM seal, IP blind index), Append's
#              statement set replayed raw (per statement group), and Append in one transaction.
#   query:     EVENTS events for one account over DAYS days; Log::Page newest first, limit 100,
#              from now - 30 days (and a 30-day window 200 days back), cold (database evicted
#              from the OS page cache, store reopened) and warm (median of QUERY_RUNS).
# Targets (the issue): >= 100,000 events/s appended; first page < 50 ms.
#
# Usage: bench/audit_append_vs_sqlite.sh
#   AUDIT_BENCH_BIN   default build/release/bench/audit_bench (built with -j1 if missing)
#   THREADS=64  SECONDS_PER_RUN=10  INFLIGHT=2048 (0 skips the async run)  RAW_RUNS=3
#   PREPARED=1        also run both append phases with Log::Prepare before the write (0: skip)
#   BREAKDOWN=20000   appends / operations per breakdown measurement
#   EVENTS=10000000  DAYS=400  QUERY_RUNS=20  FILL_BATCH=50000  MAX_FILL_SECONDS=0 (no limit)
#   AUDIT_QUERY=0     skip the query half (it writes ~8 GB to BENCH_DIR and takes minutes)
#   BENCH_DIR=/tmp    where the temporary databases go (deleted at the end)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${AUDIT_BENCH_BIN:-$ROOT/build/release/bench/audit_bench}"
if [[ -z "${AUDIT_BENCH_BIN:-}" && ! -x "$BIN" ]]; then
  if [[ ! -f "$ROOT/build/release/build.ninja" ]]; then
    (cd "$ROOT" && cmake --preset release >/dev/null)
  fi
  cmake --build "$ROOT/build/release" -j1 --target audit_bench >&2
fi
[[ -x "$BIN" ]] || { echo "audit_bench not found at $BIN" >&2; exit 1; }
THREADS="${THREADS:-64}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-10}"
INFLIGHT="${INFLIGHT:-2048}"
RAW_RUNS="${RAW_RUNS:-3}"
BREAKDOWN="${BREAKDOWN:-20000}"
EVENTS="${EVENTS:-10000000}"
DAYS="${DAYS:-400}"
QUERY_RUNS="${QUERY_RUNS:-20}"
FILL_BATCH="${FILL_BATCH:-50000}"
MAX_FILL_SECONDS="${MAX_FILL_SECONDS:-0}"
AUDIT_QUERY="${AUDIT_QUERY:-1}"
PREPARED="${PREPARED:-1}"
BENCH_DIR="${BENCH_DIR:-${TMPDIR:-/tmp}}"

echo "binary: $BIN"
echo "sqlite: $(sqlite3 --version 2>/dev/null | cut -d' ' -f1 || echo '?')   cores: $(nproc)" \
     "  load: $(cut -d' ' -f1-3 /proc/loadavg)   database dir: $BENCH_DIR"

OUT="$("$BIN" append --threads "$THREADS" --seconds "$SECONDS_PER_RUN" --inflight "$INFLIGHT" \
       --breakdown "$BREAKDOWN" --raw-runs "$RAW_RUNS" --prepared "$PREPARED" --dir "$BENCH_DIR")"
get() { awk -v n="$1" -v f="$2" '$1 == n { print $f }' <<< "$OUT"; }
# field after a named key on line $1: kv LINE KEY
kv() { awk -v n="$1" -v k="$2" '$1 == n { for (i = 2; i < NF; i++) if ($i == k) print $(i + 1) }' <<< "$OUT"; }

# append_threads T events seconds events/s commits p50_ms p99_ms process_cpu_us_per_event
# writer_X cpu% runqueue% blocked% writer_cpu_us_per_event
SICHER="$(get append_threads 5)"
RAW="$(get raw_insert 3)"
echo
echo "record $(get record_bytes 2) bytes of canonical JSON, $(get record_bytes 4) sealed;" \
     "the reference replays the threads run's $(get rows 2) rows" \
     "(sealed payload mean $(get rows 4) bytes)"
awk -v s="$SICHER" -v r="$RAW" -v t="$THREADS" -v n="$(get append_threads 3)" \
    -v c="$(get append_threads 6)" -v p50="$(get append_threads 7)" \
    -v p99="$(get append_threads 8)" -v w="$(grep '^writer_threads ' <<< "$OUT")" \
    -v runs="$(awk '$1 == "raw_insert" { for (i = 4; i <= NF; i++) printf "%s ", $i }' <<< "$OUT")" 'BEGIN {
  split(w, f, " ")
  printf "sicher: %d threads, Write(Append), each acked after commit: %9.1f events/s  (%d events, %d commits = %.1f per fsync; latency p50 %.2f ms, p99 %.2f ms)\n",
         t, s, n, c, (c > 0 ? n / c : 0), p50, p99
  printf "        writer thread: %.0f%% on CPU, %.0f%% waiting for a core, %.0f%% blocked (fsync, idle); %.2f us writer CPU per event\n",
         f[2], f[3], f[4], f[5]
  printf "raw SQLite: same rows, one transaction:                    %9.1f rows/s    (runs: %s)\n", r, runs
  q = (r > 0) ? s / r : 0
  printf "ratio sicher / raw = %.2f;   target >= 100,000 events/s: %s\n", q,
         (s >= 100000) ? "met" : "NOT met"
}'
async_line() {  # async_line SUFFIX LABEL
  awk -v l="$(grep "^append_async$1 " <<< "$OUT")" -v w="$(grep "^writer_async$1 " <<< "$OUT")" \
      -v c="$(get "checkpoints_async$1" 2)" -v r="$RAW" -v label="$2" 'BEGIN {
    split(l, f, " "); split(w, g, " ")
    printf "sicher: %d WriteAsync appends in flight, %s %9.1f events/s  (%d commits = %.1f per fsync)  ratio %.2f  (target: %s)\n",
           f[2], label, f[5], f[6], (f[6] > 0 ? f[3] / f[6] : 0), (r > 0 ? f[5] / r : 0),
           (f[5] >= 100000) ? "met" : "NOT met"
    printf "        writer thread: %.0f%% on CPU, %.0f%% waiting for a core, %.0f%% blocked; %.2f us writer CPU per event; WAL checkpoints background/writer %s\n",
           g[2], g[3], g[4], g[5], c }'
}
if [[ "$INFLIGHT" != 0 ]]; then async_line "" "Append(Event) in the closure:"; fi
if grep -q '^append_threads_prepared ' <<< "$OUT"; then
  awk -v l="$(grep '^append_threads_prepared ' <<< "$OUT")" \
      -v w="$(grep '^writer_threads_prepared ' <<< "$OUT")" 'BEGIN {
    split(l, f, " "); split(w, g, " ")
    printf "sicher: %d threads, Prepare before Write, Append(PreparedEvent) inside: %9.1f events/s  (%d commits = %.1f per fsync; p50 %.2f ms, p99 %.2f ms)\n",
           f[2], f[5], f[6], (f[6] > 0 ? f[3] / f[6] : 0), f[7], f[8]
    printf "        writer thread: %.0f%% on CPU, %.0f%% waiting for a core, %.0f%% blocked; %.2f us writer CPU per event\n",
           g[2], g[3], g[4], g[5] }'
  if [[ "$INFLIGHT" != 0 ]]; then async_line "_prepared" "prepared by the feeders:      "; fi
fi
awk -v g="$(get raw_insert_grouped 2)" -v r="$(get raw_insert_grouped 3)" 'BEGIN {
  printf "raw SQLite: same rows, one commit (fsync) per %d rows, the threads run'"'"'s mean batch: %.1f rows/s\n", g, r }'
awk -v s="$(get writer_threads 5)" -v a="$(get writer_async 5)" -v r="$(get raw_insert_cpu_us 2)" 'BEGIN {
  printf "per CPU-second of the one writing thread (load-independent): sicher %.0f (threads) / %.0f (async) events/s, raw %.0f rows/s: ratio %.2f / %.2f\n",
         1e6 / s, (a > 0 ? 1e6 / a : 0), 1e6 / r, r / s, (a > 0 ? r / a : 0) }'
echo "one durable commit (fsync) of a one-row transaction: $(get commit_ms 2) ms"

echo
echo "where the writer's time goes (single thread, microseconds per event):"
echo "  in memory, no SQL:  record (RenderRecord) $(kv cost_us record)" \
     "(of which the event id $(kv cost_us new_id))," \
     "leaf SHA-256 $(kv cost_us leaf_hash), ~1 node SHA-256 $(kv cost_us node_hash)," \
     "AES-GCM seal with the scope's cached context $(kv cost_us seal)," \
     "IP blind index (HMAC) $(kv cost_us ip_blind_index): total $(get cost_us_no_sql_total 2);" \
     "not per event: DEK unwrap $(kv cost_us dek_unwrap) (only when the scope's key row changes)"
echo "  Append's SQL replayed raw on the threads run's rows (one transaction, no crypto):" \
     "$(get raw_append_sql 4) wall, $(kv raw_append_sql cpu) CPU =" \
     "SAVEPOINT+RELEASE $(kv raw_append_sql savepoint_release)," \
     "data key SELECT $(kv raw_append_sql data_key_select)," \
     "event INSERT $(kv raw_append_sql event_insert)," \
     "per batch (tree size, node INSERTs, counters) $(kv raw_append_sql batch)," \
     "COMMIT $(kv raw_append_sql commit);" \
     "the plain INSERT alone (reference): $(awk -v r="$RAW" 'BEGIN { printf "%.2f", 1e6 / r }') wall," \
     "$(get raw_insert_cpu_us 2) CPU"
echo "  same size ($(get breakdown_us 2) events into an empty database, one transaction), wall / CPU:" \
     "plain INSERT $(kv breakdown_us raw_insert) / $(kv breakdown_cpu_us raw_insert)," \
     "Append's SQL $(kv breakdown_us raw_append_sql) / $(kv breakdown_cpu_us raw_append_sql)," \
     "Log::Append through the store $(kv breakdown_us append) / $(kv breakdown_cpu_us append)"

if [[ "$AUDIT_QUERY" != 0 ]]; then
  echo
  QOUT="$("$BIN" query --events "$EVENTS" --days "$DAYS" --runs "$QUERY_RUNS" \
          --batch "$FILL_BATCH" --max-fill-seconds "$MAX_FILL_SECONDS" --dir "$BENCH_DIR")"
  qget() { awk -v n="$1" -v f="$2" '$1 == n { print $f }' <<< "$QOUT"; }
  echo "query: $(qget fill 2) events for one account over $(qget fill 5) days (fill via" \
       "Log::Append: $(qget fill 3) s, $(qget fill 4) events/s); database" \
       "$(awk -v b="$(qget db_bytes 2)" 'BEGIN { printf "%.2f", b / 1e9 }') GB; load" \
       "$(cut -d' ' -f1-3 /proc/loadavg)"
  for w in recent past; do
    # query_W n cold_ms warm_median min max sql_only_ms first_index span_days
    label="last 30 days"
    [[ "$w" == past ]] && label="30 days, 200 days back"
    awk -v l="$label" -v q="$(grep "^query_$w " <<< "$QOUT")" -v c="$(qget "window_$w" 2)" \
        -v p="$(grep "^plan_$w " <<< "$QOUT" | cut -d' ' -f2-)" -v runs="$QUERY_RUNS" \
        -v e="$(grep "^evicted_$w " <<< "$QOUT")" 'BEGIN {
      split(q, f, " "); split(e, g, " ")
      printf "first page (%s, %d of %d events, newest first): cold %.2f ms, warm median %.2f ms (min %.2f, max %.2f, %d runs); SQL alone %.2f ms  (target < 50 ms: %s)\n",
             l, f[2], c, f[3], f[4], f[5], f[6], runs, f[7],
             (f[3] < 50 && f[4] < 50) ? "met" : "NOT met"
      printf "  newest log index %d; plan: %s; before the cold run the database file was evicted from the OS page cache (%.1f MB resident before, %.1f MB after) and the store reopened\n",
             f[8], p, g[2] / 1e6, g[3] / 1e6 }'
  done
fi
