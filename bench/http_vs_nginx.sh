#!/usr/bin/env bash
# sicher vs nginx on loopback, same certificate (ECDSA P-256), same TLS profile, same run:
#   (a) keep-alive TLS requests/s: wrk -t2 -c64 -d8s, sicher GET /livez vs nginx GET /1k.html
#   (b) full TLS handshakes/s (no resumption: the client never offers a session and checks
#       SSL_session_reused() == 0): tls_handshake_client, one GET per connection
# and prints sicher/nginx ratios against the target (0.8).
#
# Usage: bench/http_vs_nginx.sh            (see bench/README.md for the environment knobs)
#   BENCH_PROFILE=intermediate|modern|old  TLS profile for both servers (default intermediate)
#   WRK_ARGS="-t2 -c64 -d8s"               wrk arguments
#   HS_THREADS=4 HS_SECONDS=5              handshake client threads and duration
#   HS_TLS=any|1.2|1.3                     protocol for the handshake run (default any -> 1.3)
#   NGINX_ACCESS_LOG=on|off                nginx access log (default on; sicher's is always on)
#   BENCH_ONLY=nginx                       run only the nginx half (checks the harness)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PROFILE="${BENCH_PROFILE:-intermediate}"
TARGET=0.8
read -r -a WRK_ARGS_A <<< "${WRK_ARGS:--t2 -c64 -d8s}"
HS_ARGS=(--threads "${HS_THREADS:-4}" --duration "${HS_SECONDS:-5}" --tls "${HS_TLS:-any}")
NGINX_ACCESS_LOG="${NGINX_ACCESS_LOG:-on}"

bench_init
handshake_client_bin >/dev/null   # fail early if the client is not built
bench_cert
start_nginx "$PROFILE" "$NGINX_ACCESS_LOG"
if [[ "${BENCH_ONLY:-}" != nginx ]]; then
  start_sicher "$PROFILE"
fi

# Both servers are up and idle while the other is measured. Each measurement is one run;
# on a shared 2-core machine repeat the script rather than trusting one number.
WRK_ERRORS=0
run_wrk nginx "https://127.0.0.1:$NGINX_PORT/1k.html" "${WRK_ARGS_A[@]}"
NGINX_RPS="$WRK_RPS"
run_handshakes nginx --port "$NGINX_PORT" --path /1k.html "${HS_ARGS[@]}"
NGINX_HS="$HS_RATE"
NGINX_HS_PROTO="$(handshake_summary nginx)"

if [[ "${BENCH_ONLY:-}" != nginx ]]; then
  run_wrk sicher "https://127.0.0.1:$SICHER_PORT/livez" "${WRK_ARGS_A[@]}"
  SICHER_RPS="$WRK_RPS"
  run_handshakes sicher --port "$SICHER_PORT" --path /livez "${HS_ARGS[@]}"
  SICHER_HS="$HS_RATE"
  SICHER_HS_PROTO="$(handshake_summary sicher)"
  # Rotated files included: access.log.1, ...
  ACCESS_LINES="$(cat "$SICHER_DIR"/data/logs/access.log* 2>/dev/null | wc -l)"
else
  SICHER_RPS=0; SICHER_HS=0; SICHER_HS_PROTO="(not run)"; ACCESS_LINES="-"
fi

echo
echo "== sicher vs nginx, TLS profile $PROFILE, $(nproc) cores, server threads $BENCH_THREADS"
NGINX_VERSION="$("$NGINX_BIN" -v 2>&1 | sed 's/^nginx version: //')"
echo "   $NGINX_VERSION, $(openssl version | cut -d' ' -f1-2)"
echo "   keep-alive: wrk ${WRK_ARGS_A[*]}; sicher GET /livez (JSON), nginx GET /1k.html (1 KiB)"
echo "   access logs: sicher on ($ACCESS_LINES lines written), nginx $NGINX_ACCESS_LOG"
echo "   handshakes: tls_handshake_client ${HS_ARGS[*]}, no session reuse"
echo "               nginx: $NGINX_HS_PROTO; sicher: $SICHER_HS_PROTO"
print_ratio "keep-alive requests/s" "$SICHER_RPS" "$NGINX_RPS" "$TARGET"
print_ratio "full TLS handshakes/s" "$SICHER_HS" "$NGINX_HS" "$TARGET"
if [[ "$WRK_ERRORS" != 0 ]]; then
  echo "WARNING: wrk reported errors or non-2xx answers; see the log lines above"
fi
