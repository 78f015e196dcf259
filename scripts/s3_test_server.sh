#!/usr/bin/env bash
# A throwaway S3 endpoint on loopback for ftpgate's tests and for trying the S3 back end locally:
# Ceph's RADOS Gateway (Debian 12's own packages) on one monitor and one in-memory OSD.
#
#   scripts/s3_test_server.sh start    # prints `export ...` lines: eval "$(scripts/s3_test_server.sh start)"
#   scripts/s3_test_server.sh env      # the same lines, for a gateway already running
#   scripts/s3_test_server.sh status   # exit 0 when the gateway answers
#   scripts/s3_test_server.sh stop     # stops the daemons (by their pid files) and removes the data
#
# `swift` as a second argument (`start swift`, `stop swift`, ...) runs OpenStack Swift with its
# s3api middleware instead (Debian's swift-proxy swift-account swift-container swift-object,
# tempauth, port 7481, data on disk under $FTPGATE_S3_DIR-swift): an S3 dialect that answers
# differently (no conditional writes: 501; DeleteObjects needs Content-MD5), for the same tests.
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

# True while the process of a pid file runs. A zombie (exited, not yet reaped by a parent that
# is not ours) counts as gone: kill -0 still succeeds on one.
alive() {
  local pidfile=$1 pid
  [ -s "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [ -r "/proc/$pid/stat" ] || return 1
  ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$pid/stat" 2>/dev/null
}

# True when nothing listens on 127.0.0.1:$1.
port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Waits for a daemon of an earlier run to let go of its ports (a monitor still answering on the
# old port would hand the new OSD an id of the old cluster: "wrong fsid").
wait_ports_free() {
  local port
  for port in "$@"; do
    for _ in $(seq 100); do port_free "$port" && break; sleep 0.1; done
    port_free "$port" || { log "port $port on 127.0.0.1 is in use"; return 1; }
  done
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
      for _ in $(seq 50); do alive "$DIR/run/$name.pid" || break; sleep 0.1; done
      if alive "$DIR/run/$name.pid"; then
        kill -9 "$pid" 2>/dev/null || true
        for _ in $(seq 100); do alive "$DIR/run/$name.pid" || break; sleep 0.1; done
      fi
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
  wait_ports_free "$MON_PORT" "$PORT"
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
  # memstore frees deleted data into glibc's heap, which keeps it (an OSD stayed at 7.7 GB RSS
  # after a benchmark had deleted everything); a fixed mmap threshold gives big buffers back.
  MALLOC_MMAP_THRESHOLD_=131072 MALLOC_TRIM_THRESHOLD_=131072 ceph-osd -c "$CONF" -i "$id" 9>&- </dev/null >>"$DIR/log/daemons.out" 2>&1
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

# ---- OpenStack Swift + s3api (second flavour) ---------------------------------------------
SWIFT_DIR="${DIR}-swift"
SWIFT_PORT=${FTPGATE_SWIFT_PORT:-7481}
SWIFT_ENDPOINT="http://127.0.0.1:${SWIFT_PORT}"
SWIFT_PACKAGES=(swift-proxy swift-account swift-container swift-object)

swift_env() {
  cat <<EOF
export AWS_ACCESS_KEY_ID=test:tester
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1
export AWS_ENDPOINT_URL_S3=${SWIFT_ENDPOINT}
export FTPGATE_S3_BUCKET=${BUCKET}
EOF
}

swift_answers() {
  curl -s -o /dev/null --max-time 2 "$SWIFT_ENDPOINT/" 2>/dev/null
}

swift_running() {
  alive "$SWIFT_DIR/run/proxy.pid" && swift_answers
}

swift_stop_daemons() {
  local name pid
  for name in proxy object container account; do
    if alive "$SWIFT_DIR/run/$name.pid"; then
      pid=$(cat "$SWIFT_DIR/run/$name.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do alive "$SWIFT_DIR/run/$name.pid" || break; sleep 0.1; done
      alive "$SWIFT_DIR/run/$name.pid" && kill -9 "$pid" 2>/dev/null || true
    fi
  done
}

# Creates the bucket through S3. curl cannot sign for Swift's access key (it has a colon, which
# curl takes for the end of the user name), so this is SigV4 by hand in Python's standard library.
swift_create_bucket() {
  /usr/bin/python3 - "$SWIFT_ENDPOINT" "$BUCKET" <<'PY'
import datetime, hashlib, hmac, sys, urllib.error, urllib.request
endpoint, bucket = sys.argv[1], sys.argv[2]
host = endpoint.split("//", 1)[1]
now = datetime.datetime.now(datetime.timezone.utc)
amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
headers = {"host": host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "x-amz-date": amz_date}
signed = ";".join(sorted(headers))
canonical_headers = "".join(f"{k}:{headers[k]}\n" for k in sorted(headers))
canonical = "\n".join(["PUT", "/" + bucket, "", canonical_headers, signed, "UNSIGNED-PAYLOAD"])
scope = f"{day}/us-east-1/s3/aws4_request"
digest = hashlib.sha256(canonical.encode()).hexdigest()
to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, digest])
key = b"AWS4testing"
for part in (day, "us-east-1", "s3", "aws4_request"):
    key = hmac.new(key, part.encode(), hashlib.sha256).digest()
signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
headers["authorization"] = (
    f"AWS4-HMAC-SHA256 Credential=test:tester/{scope}, SignedHeaders={signed}, Signature={signature}"
)
try:
    urllib.request.urlopen(urllib.request.Request(endpoint + "/" + bucket, method="PUT", headers=headers), timeout=10)
except urllib.error.HTTPError as error:
    if error.code != 409:
        raise
PY
}

swift_write_conf() {
  cat >"$SWIFT_DIR/swift.conf" <<EOF
[swift-hash]
swift_hash_path_suffix = ftpgate-test
swift_hash_path_prefix = ftpgate
[storage-policy:0]
name = default
default = yes
EOF
  local pair name port
  for pair in account:6202 container:6201 object:6200; do
    name=${pair%%:*}
    port=${pair##*:}
    cat >"$SWIFT_DIR/$name-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $port
devices = $SWIFT_DIR/srv
mount_check = false
swift_dir = $SWIFT_DIR
workers = 0
log_name = $name
[pipeline:main]
pipeline = $name-server
[app:$name-server]
use = egg:swift#$name
EOF
    swift-ring-builder "$SWIFT_DIR/$name.builder" create 4 1 1 >/dev/null
    swift-ring-builder "$SWIFT_DIR/$name.builder" add "r1z1-127.0.0.1:$port/d1" 100 >/dev/null
    swift-ring-builder "$SWIFT_DIR/$name.builder" rebalance >/dev/null
  done
  # s3api before tempauth (it turns S3 signatures into Swift auth); slo for multipart uploads.
  cat >"$SWIFT_DIR/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${SWIFT_PORT}
swift_dir = $SWIFT_DIR
workers = 0
log_name = proxy
[pipeline:main]
pipeline = catch_errors gatekeeper proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
[filter:s3api]
use = egg:swift#s3api
[filter:cache]
use = egg:swift#memcache
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
EOF
}

swift_start() {
  if swift_running; then
    log "Swift already running at $SWIFT_ENDPOINT"
    swift_env
    return 0
  fi
  if ! command -v swift-proxy-server >/dev/null || ! command -v swift-object-server >/dev/null ||
    ! command -v swift-container-server >/dev/null || ! command -v swift-account-server >/dev/null; then
    if [ "${FTPGATE_S3_INSTALL:-1}" = 0 ] || [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
      log "Swift is not installed (apt-get install ${SWIFT_PACKAGES[*]})"
      return 1
    fi
    log "installing ${SWIFT_PACKAGES[*]} (apt-get)"
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${SWIFT_PACKAGES[@]}" >/dev/null 2>&1 || {
      log "apt-get install ${SWIFT_PACKAGES[*]} failed"
      return 1
    }
  fi
  swift_stop_daemons
  wait_ports_free "$SWIFT_PORT" 6200 6201 6202
  rm -rf "$SWIFT_DIR"
  mkdir -p "$SWIFT_DIR/srv/d1" "$SWIFT_DIR/run"
  swift_write_conf
  log "starting Swift (account, container, object, proxy with s3api) on $SWIFT_ENDPOINT"
  local name
  for name in account container object proxy; do
    "swift-$name-server" "$SWIFT_DIR/$name-server.conf" 9>&- </dev/null >>"$SWIFT_DIR/run/$name.log" 2>&1 &
    echo $! >"$SWIFT_DIR/run/$name.pid"
  done
  for _ in $(seq 300); do swift_answers && break; sleep 0.1; done
  swift_answers || { log "Swift did not answer; see $SWIFT_DIR/run"; return 1; }
  swift_create_bucket || { log "could not create bucket $BUCKET on Swift"; return 1; }
  log "Swift ready at $SWIFT_ENDPOINT, bucket $BUCKET"
  swift_env
}

swift_stop() {
  swift_stop_daemons
  rm -rf "$SWIFT_DIR"
  log "Swift stopped"
}

usage() {
  echo "usage: $0 start|stop|status|env [rgw|swift]" >&2
  exit 2
}

if [ "${2:-rgw}" = swift ]; then
  case "${1:-}" in
    start)
      mkdir -p "$SWIFT_DIR"
      exec 9>"$SWIFT_DIR.lock"
      flock 9
      swift_start
      ;;
    stop)
      exec 9>"$SWIFT_DIR.lock"
      flock 9
      swift_stop
      ;;
    status) swift_running ;;
    env)
      swift_running || { log "Swift not running"; exit 1; }
      swift_env
      ;;
    *) usage ;;
  esac
  exit $?
fi
[ "${2:-rgw}" = rgw ] || usage

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
    usage
    ;;
esac
