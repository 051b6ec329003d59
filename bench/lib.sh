# shellcheck shell=bash disable=SC2034  # functions set result variables for the caller
# Shared harness for sicher benchmarks. Source it from a bench script:
#
#   . "$(dirname "$0")/lib.sh"
#   bench_init                         # temp dir, cleanup trap, tool checks
#   bench_cert                         # one ECDSA P-256 cert for every server
#   start_nginx intermediate on        # -> NGINX_PORT (access log on|off)
#   start_sicher intermediate          # -> SICHER_PORT, SICHER_OP_PORT
#   run_wrk nginx "https://127.0.0.1:$NGINX_PORT/1k.html"   # -> WRK_RPS
#   print_ratio "keep-alive req/s" "$s" "$n" 0.8
#
# Every server started here is stopped by the EXIT trap (SIGTERM, then SIGKILL after 5 s),
# and the temp dir is removed unless BENCH_KEEP=1.
#
# Environment:
#   SICHER_BIN     sicher binary (default: build/release/sicher)
#   NGINX_BIN      nginx binary (default: /usr/sbin/nginx)
#   HANDSHAKE_BIN  tls_handshake_client (default: build/release/bench/tls_handshake_client,
#                  then any build/*/bench/tls_handshake_client)
#   BENCH_THREADS  server threads: nginx worker_processes and sicher io_threads (default nproc)
#   BENCH_KEEP=1   keep the temp dir (configs, logs) for inspection

BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SICHER_BIN="${SICHER_BIN:-$BENCH_ROOT/build/release/sicher}"
NGINX_BIN="${NGINX_BIN:-/usr/sbin/nginx}"
BENCH_THREADS="${BENCH_THREADS:-$(nproc)}"
BENCH_PIDS=()
BENCH_TMP=""

# Mozilla Server Side TLS 6.0 (see docs and /work/shared/reference/tls-guidelines-6.0.md),
# in nginx spelling. X25519MLKEM768 is omitted: OpenSSL 3.0 cannot offer it.
TLS13_SUITES="TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
TLS_CURVES="X25519:prime256v1:secp384r1"
INTERMEDIATE_CIPHERS="ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
OLD_CIPHERS="$INTERMEDIATE_CIPHERS:ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA256:AES256-SHA256:AES128-SHA:AES256-SHA:DES-CBC3-SHA"

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }

bench_init() {
  command -v openssl >/dev/null || die "openssl not found"
  command -v curl >/dev/null || die "curl not found"
  command -v python3 >/dev/null || die "python3 not found"
  BENCH_TMP="$(mktemp -d /tmp/sicher-bench.XXXXXX)"
  chmod 0755 "$BENCH_TMP"   # nginx workers (user nobody when run as root) read www/
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  log "work dir $BENCH_TMP; server threads $BENCH_THREADS; $(nproc) cores"
}

bench_cleanup() {
  local pid i
  for pid in "${BENCH_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${BENCH_PIDS[@]}"; do
    for i in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "pid $pid did not stop after SIGTERM; killing"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n "$BENCH_TMP" && -d "$BENCH_TMP" ]]; then
    if [[ "${BENCH_KEEP:-}" == 1 ]]; then
      log "kept $BENCH_TMP"
    else
      rm -rf "$BENCH_TMP"
    fi
  fi
}

# free_port: prints a currently free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# bench_cert: self-signed ECDSA P-256 for localhost -> BENCH_CERT, BENCH_KEY.
bench_cert() {
  mkdir -p "$BENCH_TMP/tls"
  BENCH_CERT="$BENCH_TMP/tls/cert.pem"
  BENCH_KEY="$BENCH_TMP/tls/key.pem"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
    -keyout "$BENCH_KEY" -out "$BENCH_CERT" 2>/dev/null || die "openssl req failed"
  chmod 0600 "$BENCH_KEY"
}

# wait_https URL [SECONDS]: waits until URL answers 200 over TLS.
wait_https() {
  local url="$1" limit="${2:-30}" i code
  for i in $(seq $((limit * 10))); do
    code="$(curl -sk -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)"
    [[ "$code" == 200 ]] && return 0
    sleep 0.1
  done
  die "$url did not answer 200 within ${limit}s (last: $code)"
}

# start_nginx PROFILE [ACCESS_LOG on|off] -> NGINX_PORT, NGINX_DIR.
# Serves www/1k.html (1024 bytes) with the same security headers sicher sends.
start_nginx() {
  local profile="$1" access="${2:-on}" protocols ciphers prefer access_line
  [[ -x "$NGINX_BIN" ]] || die "nginx not found at $NGINX_BIN"
  case "$profile" in
    modern) protocols="TLSv1.3"; ciphers="$INTERMEDIATE_CIPHERS"; prefer=off ;;
    intermediate) protocols="TLSv1.2 TLSv1.3"; ciphers="$INTERMEDIATE_CIPHERS"; prefer=off ;;
    old) protocols="TLSv1 TLSv1.1 TLSv1.2 TLSv1.3"; ciphers="$OLD_CIPHERS:@SECLEVEL=0"; prefer=on ;;
    *) die "unknown profile $profile" ;;
  esac
  NGINX_DIR="$BENCH_TMP/nginx"
  NGINX_PORT="$(free_port)"
  mkdir -p "$NGINX_DIR/www" "$NGINX_DIR/logs"
  chmod 0755 "$NGINX_DIR" "$NGINX_DIR/www"
  python3 -c 'import sys; sys.stdout.write(("x" * 1023) + "\n")' > "$NGINX_DIR/www/1k.html"
  chmod 0644 "$NGINX_DIR/www/1k.html"
  if [[ "$access" == on ]]; then
    access_line="access_log $NGINX_DIR/logs/access.log;"
  else
    access_line="access_log off;"
  fi
  cat > "$NGINX_DIR/nginx.conf" <<EOF
worker_processes $BENCH_THREADS;
error_log $NGINX_DIR/logs/error.log warn;
events { worker_connections 4096; }
http {
  types { text/html html; application/json json; }
  default_type application/octet-stream;
  $access_line
  client_body_temp_path $NGINX_DIR/tmp_body;
  proxy_temp_path $NGINX_DIR/tmp_proxy;
  fastcgi_temp_path $NGINX_DIR/tmp_fastcgi;
  uwsgi_temp_path $NGINX_DIR/tmp_uwsgi;
  scgi_temp_path $NGINX_DIR/tmp_scgi;
  keepalive_requests 10000000;
  keepalive_timeout 75s;
  server_tokens off;
  server {
    listen 127.0.0.1:$NGINX_PORT ssl;
    server_name localhost;
    ssl_certificate $BENCH_CERT;
    ssl_certificate_key $BENCH_KEY;
    ssl_protocols $protocols;
    ssl_ciphers $ciphers;
    ssl_conf_command Ciphersuites $TLS13_SUITES;
    ssl_ecdh_curve $TLS_CURVES;
    ssl_prefer_server_ciphers $prefer;
    # Resumption off, as in the handshake benchmark's client.
    ssl_session_cache off;
    ssl_session_tickets off;
    root $NGINX_DIR/www;
    add_header Strict-Transport-Security "max-age=63072000" always;
    add_header X-Content-Type-Options nosniff always;
    add_header Referrer-Policy no-referrer always;
    add_header X-Frame-Options DENY always;
    add_header Content-Security-Policy "default-src 'none'; frame-ancestors 'none'" always;
    add_header X-Request-Id \$request_id always;
    location / { }
  }
}
EOF
  "$NGINX_BIN" -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" \
    -g "daemon off; pid $NGINX_DIR/nginx.pid;" >"$NGINX_DIR/logs/stdout.log" 2>&1 &
  BENCH_PIDS+=("$!")
  wait_https "https://127.0.0.1:$NGINX_PORT/1k.html" 10
  log "nginx $profile on 127.0.0.1:$NGINX_PORT ($BENCH_THREADS workers, access log $access)"
}

# start_sicher PROFILE [extra TOML lines...] -> SICHER_PORT, SICHER_OP_PORT, SICHER_DIR.
# Uses BENCH_CERT/BENCH_KEY so both servers present the same certificate.
start_sicher() {
  local profile="$1"; shift
  [[ -x "$SICHER_BIN" ]] || die "sicher binary not found at $SICHER_BIN (build the release preset)"
  SICHER_DIR="$BENCH_TMP/sicher"
  mkdir -p "$SICHER_DIR"
  cat > "$SICHER_DIR/sicher.toml" <<EOF
[server]
public_listen = "127.0.0.1:0"
operator_listen = "127.0.0.1:0"
redirect_listen = ""
tls_profile = "$profile"
cert_file = "$BENCH_CERT"
key_file = "$BENCH_KEY"
io_threads = $BENCH_THREADS
EOF
  local line
  for line in "$@"; do echo "$line" >> "$SICHER_DIR/sicher.toml"; done
  "$SICHER_BIN" serve --data "$SICHER_DIR/data" --config "$SICHER_DIR/sicher.toml" \
    >"$SICHER_DIR/stdout.log" 2>"$SICHER_DIR/stderr.log" &
  local pid=$!
  BENCH_PIDS+=("$pid")
  for _ in $(seq 300); do
    grep -qx 'sicher: ready' "$SICHER_DIR/stdout.log" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { cat "$SICHER_DIR/stderr.log" >&2; die "sicher exited at start"; }
    sleep 0.1
  done
  grep -qx 'sicher: ready' "$SICHER_DIR/stdout.log" || die "sicher not ready after 30s"
  SICHER_PORT="$(sed -n 's#^sicher: public https://[^/]*:\([0-9]*\)/$#\1#p' "$SICHER_DIR/stdout.log")"
  SICHER_OP_PORT="$(sed -n 's#^sicher: operator https://[^/]*:\([0-9]*\)/$#\1#p' "$SICHER_DIR/stdout.log")"
  [[ -n "$SICHER_PORT" ]] || die "no public URL in sicher's output: $(cat "$SICHER_DIR/stdout.log")"
  wait_https "https://127.0.0.1:$SICHER_PORT/livez" 10
  log "sicher $profile on 127.0.0.1:$SICHER_PORT ($BENCH_THREADS io threads, access log on)"
}

# run_wrk NAME URL [wrk args...] -> WRK_RPS; fails when wrk reports errors or non-2xx.
run_wrk() {
  local name="$1" url="$2"; shift 2
  local args=("$@")
  [[ ${#args[@]} -gt 0 ]] || args=(-t2 -c64 -d8s)
  command -v wrk >/dev/null || die "wrk not found"
  local out="$BENCH_TMP/wrk-$name.txt"
  wrk "${args[@]}" "$url" > "$out" 2>&1 || { cat "$out" >&2; die "wrk failed against $name"; }
  WRK_RPS="$(awk '/^Requests\/sec:/ {print $2}' "$out")"
  [[ -n "$WRK_RPS" ]] || { cat "$out" >&2; die "no Requests/sec in wrk output"; }
  if grep -Eq 'Non-2xx|Socket errors' "$out"; then
    log "$name: wrk reported errors:"; grep -E 'Non-2xx|Socket errors' "$out" >&2
    WRK_ERRORS=1
  fi
  log "$name: $(grep -E 'Latency|Requests/sec' "$out" | tr -s ' ' | paste -sd ';')"
}

# handshake_client ARGS... -> HS_RATE (prints the client's own report on stderr).
handshake_client_bin() {
  if [[ -n "${HANDSHAKE_BIN:-}" ]]; then echo "$HANDSHAKE_BIN"; return; fi
  local c
  for c in "$BENCH_ROOT/build/release/bench/tls_handshake_client" \
           "$BENCH_ROOT"/build/*/bench/tls_handshake_client; do
    [[ -x "$c" ]] && { echo "$c"; return; }
  done
  die "tls_handshake_client not built (cmake --build build/release --target tls_handshake_client)"
}

run_handshakes() {
  local name="$1"; shift
  local out="$BENCH_TMP/hs-$name.txt"
  "$(handshake_client_bin)" "$@" > "$out" 2>&1 ||
    { cat "$out" >&2; die "handshake client failed against $name"; }
  HS_RATE="$(awk -F= '/^handshakes_per_sec=/ {print $2}' "$out")"
  log "$name: $(paste -sd ' ' "$out")"
}

# handshake_summary NAME: "protocol cipher group" of the last run_handshakes NAME.
handshake_summary() {
  awk -F= '/^protocol=/ {p = $2} /^cipher=/ {c = $2} /^group=/ {g = $2}
           END {print p " " c " " g}' "$BENCH_TMP/hs-$1.txt"
}

# print_ratio LABEL SICHER NGINX TARGET: prints one result line.
print_ratio() {
  awk -v l="$1" -v s="$2" -v n="$3" -v t="$4" 'BEGIN {
    r = (n > 0) ? s / n : 0;
    printf "%-34s sicher %10.1f   nginx %10.1f   ratio %.2f  (target >= %.2f: %s)\n",
           l, s, n, r, t, (r >= t) ? "met" : "NOT met" }'
}
