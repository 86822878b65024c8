#!/usr/bin/env bash
# A throw-away Ceph cluster with an S3 gateway on loopback, for backend-s3's tests and benchmarks:
# one monitor, N OSDs (bluestore on sparse files), radosgw (beast) and one S3 user. No ceph-mgr,
# no containers, no block devices. Needs root (apt-get, daemons); see docs/TESTING.md.
#
#   ceph-rgw.sh start [--osds N]   install the Debian packages if missing, then start a fresh
#                                  cluster (N OSDs, N replicas; default 1) unless one with N OSDs
#                                  already answers; writes the env file below
#   ceph-rgw.sh stop               stops the daemons by their pid files and removes the cluster
#   ceph-rgw.sh env                prints the env file (endpoint and keys for the tests)
#
# Environment: PAIRKIT_CEPH_DIR (state, default /var/tmp/pairkit-ceph), PAIRKIT_CEPH_MON_PORT
# (13301), PAIRKIT_CEPH_RGW_PORT (17480), PAIRKIT_CEPH_OSDS (default of --osds).
# The tests read $PAIRKIT_CEPH_DIR/rgw.env (or the file named by PAIRKIT_RGW_ENV).
set -euo pipefail

DIR=${PAIRKIT_CEPH_DIR:-/var/tmp/pairkit-ceph}
MON_PORT=${PAIRKIT_CEPH_MON_PORT:-13301}
RGW_PORT=${PAIRKIT_CEPH_RGW_PORT:-17480}
OSDS=${PAIRKIT_CEPH_OSDS:-1}
CONF=$DIR/ceph.conf
ENV_FILE=$DIR/rgw.env
ACCESS_KEY=pairkitaccess
SECRET_KEY=pairkitsecret0123456789

log() { echo "ceph-rgw: $*" >&2; }

# A pid file's process, if it is alive and is a ceph daemon (guards against a reused pid).
live_pid() {
  local f=$1 pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f" 2>/dev/null || true)
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -Eq '(ceph-mon|ceph-osd|radosgw)' || return 1
  echo "$pid"
}

stop() {
  local f pid pids=()
  if [ -d "$DIR/run" ]; then
    for f in "$DIR"/run/*.pid; do
      [ -e "$f" ] || continue
      if pid=$(live_pid "$f"); then
        kill "$pid" 2>/dev/null || true
        pids+=("$pid")
      fi
    done
  fi
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do
      [ -d "/proc/$pid" ] || break
      sleep 0.1
    done
    if [ -d "/proc/$pid" ]; then
      log "process $pid did not stop in 10 s; killing it"
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$DIR"
}

install_packages() {
  local missing=0 b
  for b in ceph-mon ceph-osd radosgw ceph radosgw-admin monmaptool ceph-authtool; do
    command -v "$b" >/dev/null 2>&1 || missing=1
  done
  [ "$missing" = 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    log "the ceph packages are missing and this is not root: cannot install them"
    return 1
  fi
  log "installing ceph-mon ceph-osd radosgw ceph-common (about 250 MB)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends ceph-mon ceph-osd radosgw ceph-common >/dev/null
}

answers() {
  curl -s -o /dev/null -m 2 "http://127.0.0.1:$RGW_PORT/" 2>/dev/null
}

running_ok() {
  local f n=0
  [ -f "$ENV_FILE" ] && [ -f "$DIR/osds" ] && [ "$(cat "$DIR/osds")" = "$OSDS" ] || return 1
  for f in "$DIR"/run/*.pid; do
    [ -e "$f" ] || return 1
    live_pid "$f" >/dev/null || return 1
    n=$((n + 1))
  done
  [ "$n" = $((OSDS + 2)) ] && answers
}

wait_for() {
  local what=$1 tries=$2
  shift 2
  for _ in $(seq 1 "$tries"); do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.25
  done
  log "$what did not come up; logs in $DIR/log"
  tail -n 20 "$DIR"/log/*.log >&2 || true
  return 1
}

osds_up() {
  local up
  up=$(ceph -c "$CONF" osd stat -f json 2>/dev/null | python3 -c \
    'import json,sys; print(json.load(sys.stdin)["num_up_osds"])' 2>/dev/null || echo 0)
  [ "$up" = "$OSDS" ]
}

start() {
  if running_ok; then
    log "already running with $OSDS OSD(s) at http://127.0.0.1:$RGW_PORT"
    return 0
  fi
  stop # stale pid files, a crashed or differently sized cluster: start afresh
  install_packages
  mkdir -p "$DIR"/run "$DIR"/log "$DIR"/mon.a "$DIR"/rgw
  local fsid
  fsid=$(uuidgen)
  cat > "$CONF" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$MON_PORT
mon initial members = a
public addr = 127.0.0.1
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $DIR/keyring
run dir = $DIR/run
pid file = $DIR/run/\$name.pid
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
ms bind ipv6 = false
osd pool default size = $OSDS
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
paxos propose interval = 0.05
[mon]
mon data = $DIR/mon.\$id
[osd]
osd data = $DIR/osd.\$id
osd objectstore = bluestore
bluestore block create = true
bluestore block size = 8589934592
osd memory target = 939524096
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw data = $DIR/rgw
EOF
  local k=$DIR/keyring n uuid
  ceph-authtool --create-keyring "$k" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$k" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
    --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool "$k" --gen-key -n client.rgw.a --cap mon 'allow rw' --cap osd 'allow rwx' \
    >/dev/null
  for n in $(seq 0 $((OSDS - 1))); do
    ceph-authtool "$k" --gen-key -n "osd.$n" --cap mon 'allow profile osd' \
      --cap mgr 'allow profile osd' --cap osd 'allow *' >/dev/null
  done
  monmaptool --create --addv a "[v2:127.0.0.1:$MON_PORT]" --fsid "$fsid" "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$k"
  ceph-mon -c "$CONF" -i a
  wait_for "ceph-mon" 120 ceph -c "$CONF" -s
  for n in $(seq 0 $((OSDS - 1))); do
    uuid=$(uuidgen)
    ceph -c "$CONF" osd new "$uuid" "$n" >/dev/null
    mkdir -p "$DIR/osd.$n"
    ceph-osd -c "$CONF" -i "$n" --mkfs --osd-uuid "$uuid" 2>>"$DIR/log/mkfs.log"
    ceph-osd -c "$CONF" -i "$n"
  done
  wait_for "$OSDS OSD(s)" 240 osds_up
  radosgw -c "$CONF" -n client.rgw.a
  wait_for "radosgw" 240 answers
  radosgw-admin -c "$CONF" user create --uid=pairkit --display-name=PairKit \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null
  echo "$OSDS" > "$DIR/osds"
  cat > "$ENV_FILE.tmp" <<EOF
PAIRKIT_S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
PAIRKIT_S3_REGION=us-east-1
PAIRKIT_S3_ACCESS_KEY=$ACCESS_KEY
PAIRKIT_S3_SECRET_KEY=$SECRET_KEY
PAIRKIT_CEPH_OSDS=$OSDS
EOF
  mv "$ENV_FILE.tmp" "$ENV_FILE"
  log "running: $OSDS OSD(s), $OSDS replica(s), S3 at http://127.0.0.1:$RGW_PORT"
}

cmd=${1:-}
shift || true
while [ $# -gt 0 ]; do
  case "$1" in
    --osds) OSDS=$2; shift 2 ;;
    --osds=*) OSDS=${1#--osds=}; shift ;;
    *) log "unknown option $1"; exit 2 ;;
  esac
done
case "$cmd" in
  start) start ;;
  stop) stop ;;
  env) cat "$ENV_FILE" ;;
  *) echo "usage: $0 start [--osds N] | stop | env" >&2; exit 2 ;;
esac
