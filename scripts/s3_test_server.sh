#!/usr/bin/env bash
# A throwaway S3 endpoint on loopback for ftpgate's tests and for trying the S3 back end locally:
# Ceph's RADOS Gateway (Debian 12's own packages) on one monitor and one in-memory OSD.
#
#   scripts/s3_test_server.sh start    # prints `export ...` lines: eval "$(scripts/s3_test_server.sh start)"
#   scripts/s3_test_server.sh env      # the same lines, for a gateway already running
#   scripts/s3_test_server.sh status   # exit 0 when the gateway answers
#   scripts/s3_test_server.sh stop     # stops the daemons (by their pid files) and removes the data
#
# `start` is idempotent: a running gateway is reused. Everything lives in $FTPGATE_S3_DIR
# (default /tmp/ftpgate-rgw); data is held in memory (memstore) and gone after `stop`.
# Progress goes to stderr, the environment to stdout. Not for production: no authentication
# between the Ceph daemons, one copy of every object, loopback only.
#
# Settings (environment): FTPGATE_S3_DIR, FTPGATE_S3_PORT (7480), FTPGATE_S3_MON_PORT (6791),
# FTPGATE_S3_BUCKET (ftpgate-test), FTPGATE_S3_MEMORY_MIB (memstore size, 8192), FTPGATE_S3_INSTALL
# (set to 0 to never run apt-get: the tests use it, so that a test run never installs packages).
set -euo pipefail

DIR=${FTPGATE_S3_DIR:-/tmp/ftpgate-rgw}
PORT=${FTPGATE_S3_PORT:-7480}
MON_PORT=${FTPGATE_S3_MON_PORT:-6791}
BUCKET=${FTPGATE_S3_BUCKET:-ftpgate-test}
MEMORY_MIB=${FTPGATE_S3_MEMORY_MIB:-8192}
ACCESS_KEY=ftpgate-test-access
SECRET_KEY=ftpgate-test-secret-key
REGION=us-east-1
ENDPOINT="http://127.0.0.1:${PORT}"
CONF="$DIR/ceph.conf"
PACKAGES=(ceph-mon ceph-osd radosgw ceph-common)

log() { echo "s3_test_server: $*" >&2; }

print_env() {
  cat <<EOF
export AWS_ACCESS_KEY_ID=${ACCESS_KEY}
export AWS_SECRET_ACCESS_KEY=${SECRET_KEY}
export AWS_REGION=${REGION}
export AWS_ENDPOINT_URL_S3=${ENDPOINT}
export FTPGATE_S3_BUCKET=${BUCKET}
EOF
}

# True when the gateway answers HTTP at all (an anonymous request gets an S3 XML answer).
answers() {
  curl -s -o /dev/null --max-time 2 "$ENDPOINT/" 2>/dev/null
}

# A signed request with curl's SigV4 support (curl >= 7.75). curl does not send the payload hash
# header that S3's SigV4 requires, so it is given (and signed) here.
s3_curl() {
  curl -sS --max-time 10 --aws-sigv4 "aws:amz:${REGION}:s3" --user "${ACCESS_KEY}:${SECRET_KEY}" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}

alive() {
  local pidfile=$1
  [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

running() {
  alive "$DIR/run/rgw.pid" && answers
}

install_packages() {
  local missing=()
  command -v ceph-mon >/dev/null || missing+=(ceph-mon)
  command -v ceph-osd >/dev/null || missing+=(ceph-osd)
  command -v radosgw >/dev/null || missing+=(radosgw)
  command -v radosgw-admin >/dev/null || missing+=(ceph-common)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "${FTPGATE_S3_INSTALL:-1}" = 0 ]; then
    log "missing ${missing[*]} (apt-get install ${PACKAGES[*]}); not installing (FTPGATE_S3_INSTALL=0)"
    return 1
  fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    log "missing ${missing[*]} and cannot install them (needs root and apt-get): apt-get install ${PACKAGES[*]}"
    return 1
  fi
  log "installing ${PACKAGES[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1 || true
  apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null 2>&1 || {
    log "apt-get install ${PACKAGES[*]} failed"
    return 1
  }
}

stop_daemons() {
  local name pid
  for name in rgw osd mon; do
    if alive "$DIR/run/$name.pid"; then
      pid=$(cat "$DIR/run/$name.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
}

write_conf() {
  cat >"$CONF" <<EOF
[global]
fsid = $1
mon host = v1:127.0.0.1:${MON_PORT}
mon initial members = a
public network = 127.0.0.0/8
run dir = $DIR/run
log file = $DIR/log/\$name.log
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$type.pid
# No cephx: a private, loopback-only cluster. radosgw insists on a secure messenger mode
# unless crc is allowed for the monitor client.
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
ms mon client mode = crc secure
ms bind msgr2 = false
# One OSD, one copy, few placement groups.
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
osd crush chooseleaf type = 0
# radosgw creates its pools one by one: without this every proposal waits a second.
paxos propose interval = 0.05
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
[mon.a]
mon data = $DIR/mon
[osd.0]
osd data = $DIR/osd
osd objectstore = memstore
memstore device bytes = $((MEMORY_MIB * 1024 * 1024))
osd max object size = 1073741824
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:${PORT} tcp_nodelay=1
rgw dns name = localhost
rgw data = $DIR/rgw
# Deleted objects are freed soon (the default waits two hours).
rgw gc obj min wait = 10
rgw gc processor period = 10
rgw gc processor max time = 10
rgw enable usage log = false
rgw thread pool size = 64
EOF
}

start() {
  if running; then
    log "RGW already running at $ENDPOINT"
    print_env
    return 0
  fi
  install_packages
  stop_daemons
  rm -rf "$DIR/mon" "$DIR/osd" "$DIR/rgw" "$DIR/log" "$DIR/run" "$DIR/monmap"
  mkdir -p "$DIR/mon" "$DIR/osd" "$DIR/rgw" "$DIR/log" "$DIR/run"
  local fsid osd_uuid
  fsid=$(cat /proc/sys/kernel/random/uuid)
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  write_conf "$fsid"
  local ceph=(ceph -c "$CONF" --connect-timeout 20)

  log "starting monitor"
  monmaptool --create --fsid "$fsid" --addv a "[v1:127.0.0.1:${MON_PORT}]" "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" -i a --mkfs --monmap "$DIR/monmap" >/dev/null 2>&1
  ceph-mon -c "$CONF" -i a 9>&- </dev/null >>"$DIR/log/daemons.out" 2>&1

  log "starting OSD (memstore, ${MEMORY_MIB} MiB)"
  local id
  id=$("${ceph[@]}" osd new "$osd_uuid" 2>/dev/null)
  ceph-osd -c "$CONF" -i "$id" --mkfs --osd-uuid "$osd_uuid" >/dev/null 2>&1
  ceph-osd -c "$CONF" -i "$id" 9>&- </dev/null >>"$DIR/log/daemons.out" 2>&1
  for _ in $(seq 100); do
    "${ceph[@]}" osd stat 2>/dev/null | grep -q "1 up" && break
    sleep 0.1
  done

  log "starting radosgw on $ENDPOINT"
  radosgw -c "$CONF" -n client.rgw 9>&- </dev/null >>"$DIR/log/daemons.out" 2>&1
  for _ in $(seq 300); do answers && break; sleep 0.1; done
  answers || { log "radosgw did not answer; see $DIR/log"; return 1; }
  # radosgw writes its pid file under the client name; keep one name for stop.
  [ -s "$DIR/run/client.pid" ] && mv "$DIR/run/client.pid" "$DIR/run/rgw.pid"

  radosgw-admin -c "$CONF" -n client.rgw user create --uid ftpgate-test --display-name "ftpgate tests" \
    --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" >/dev/null 2>&1 ||
    radosgw-admin -c "$CONF" -n client.rgw user info --uid ftpgate-test >/dev/null
  local status
  status=$(s3_curl -X PUT -o /dev/null -w '%{http_code}' "$ENDPOINT/$BUCKET" || true)
  case "$status" in
    200 | 409) ;;
    *) log "could not create bucket $BUCKET (HTTP $status)"; return 1 ;;
  esac
  log "RGW ready at $ENDPOINT, bucket $BUCKET"
  print_env >"$DIR/env"
  print_env
}

stop() {
  stop_daemons
  rm -rf "$DIR"
  log "stopped"
}

case "${1:-}" in
  start)
    mkdir -p "$DIR"
    exec 9>"$DIR.lock"
    flock 9
    start
    ;;
  stop)
    exec 9>"$DIR.lock"
    flock 9
    stop
    ;;
  status) running ;;
  env)
    running || { log "not running"; exit 1; }
    print_env
    ;;
  *)
    echo "usage: $0 start|stop|status|env" >&2
    exit 2
    ;;
esac
