#!/bin/sh
# Brings a fresh clone to a runnable state: installs npm dependencies (when package-lock.json is
# newer than the installed tree) and builds dist/. With --test it also installs the programs the
# test suite runs against (real exporters, a packet recorder and player, tshark as a reference
# decoder, Redis, InfluxDB 1.x and
# VictoriaMetrics, PostgreSQL 15 for the customer registry, FreeRADIUS for RADIUS logins, which
# the tests start themselves on free loopback ports, Chromium for the browser tests of web/, and
# libfaketime for the calendar check) from Debian's packages
# when they are missing and we are root with apt; otherwise it stops with a message naming the
# package. Live capture's headers (libpcap-dev) are installed before `npm ci` with --test; without
# it (the quick start) setup only says how to get them.
set -eu
cd "$(dirname "$0")/.."

# have THING: a program on the PATH (or in /usr/sbin), or an absolute path (a header) that exists.
have() {
  case "$1" in
    /*) [ -e "$1" ] ;;
    *) command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] ;;
  esac
}

# can_apt: we may install Debian packages (root with apt-get).
can_apt() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1
}

# need THING PACKAGE...: pairs of a program (or header path) and the Debian package providing it.
need() {
  missing=""
  while [ $# -ge 2 ]; do
    have "$1" || missing="$missing $2"
    shift 2
  done
  [ -z "$missing" ] && return 0
  if can_apt; then
    echo "setup: apt-get install$missing" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2
  else
    echo "setup: missing Debian package(s):$missing (install them: apt-get install$missing)" >&2
    exit 1
  fi
}

# Live capture (inputs.capture) uses the optional npm package `pcap` (node_pcap), which `npm ci`
# builds against libpcap's headers: they must be there before it runs. Without them `npm ci` skips
# pcap and live capture fails with FT_CAPTURE_OPEN; everything else works. The tests need it.
pcap_header=/usr/include/pcap/pcap.h
if [ "${1:-}" = "--test" ]; then
  had_freeradius=yes
  have freeradius || had_freeradius=no
  need softflowd softflowd pmacctd pmacct nfacctd pmacct tcpdump tcpdump tcpreplay tcpreplay tshark tshark \
    "$pcap_header" libpcap-dev redis-server redis-server redis-cli redis-tools influxd influxdb \
    victoria-metrics victoria-metrics faketime faketime /usr/lib/postgresql/15/bin/initdb postgresql \
    freeradius freeradius /usr/bin/chromium chromium
  # Debian's freeradius starts its own server (on 1812, with /etc/freeradius) when installed; the
  # tests start theirs (bench/freeradius.ts). Stopped and disabled only when installed just now:
  # a FreeRADIUS that was here before is the machine's own business.
  if [ "$had_freeradius" = no ]; then
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
      systemctl disable --now freeradius >/dev/null 2>&1 || true
    elif [ -x /etc/init.d/freeradius ]; then
      /etc/init.d/freeradius stop >/dev/null 2>&1 || true
      update-rc.d freeradius disable >/dev/null 2>&1 || true
    fi
  fi
elif ! have "$pcap_header" && [ ! -f node_modules/.package-lock.json ]; then
  # The quick start does not capture: it does not wait for apt. Said once, at the first setup.
  echo "setup: live capture (inputs.capture) needs libpcap-dev: apt-get install libpcap-dev, then rerun this script" >&2
fi

# node-gyp builds pcap against this Node's own headers (never downloaded), like native/ below.
if [ -z "${npm_config_nodedir:-}" ]; then
  nodeprefix="$(dirname "$(dirname "$(command -v node)")")"
  [ -f "$nodeprefix/include/node/node_api.h" ] && export npm_config_nodedir="$nodeprefix"
fi

# npm ci again when the headers came after a build that had to skip pcap.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] ||
  { have "$pcap_header" && [ ! -f node_modules/pcap/build/Release/pcap_binding.node ]; }; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund
fi

# The native UDP receive path (native/udp_batch.c, recvmmsg): optional, the collector falls back
# to node:dgram without it. Built with npm's own node-gyp against Node's headers on this machine
# (never downloaded), and only when a source is newer than the addon.
addon=native/build/Release/udp_batch.node
if [ ! -f "$addon" ] || [ -n "$(find native -maxdepth 1 \( -name '*.c' -o -name '*.h' -o -name binding.gyp \) -newer "$addon" 2>/dev/null | head -n 1)" ]; then
  if [ "$(uname -s)" != Linux ]; then
    echo "setup: native UDP receive path not built (Linux only): using node:dgram" >&2
  elif ! command -v g++ >/dev/null 2>&1 || ! command -v make >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1; then
    echo "setup: native UDP receive path not built (needs g++, make and python3): using node:dgram" >&2
  else
    gyp="$(npm config get node-gyp 2>/dev/null || true)"
    [ -f "$gyp" ] || gyp="$(npm root -g 2>/dev/null)/npm/node_modules/node-gyp/bin/node-gyp.js"
    nodedir="$(npm config get nodedir 2>/dev/null || true)"
    if [ -z "$nodedir" ] || [ "$nodedir" = undefined ] || [ "$nodedir" = null ]; then
      nodedir="$(dirname "$(dirname "$(command -v node)")")"
    fi
    log="${TMPDIR:-/tmp}/flowtally-native-build.log"
    if [ ! -f "$nodedir/include/node/node_api.h" ]; then
      echo "setup: native UDP receive path not built (no Node headers in $nodedir/include/node): using node:dgram" >&2
    elif (cd native && node "$gyp" rebuild --nodedir="$nodedir") >"$log" 2>&1 && [ -f "$addon" ]; then
      echo "setup: built $addon" >&2
    else
      echo "setup: native UDP receive path failed to build (see $log): using node:dgram" >&2
    fi
  fi
fi

# `npm ci` runs `prepare` (the build); rebuild when a source file is newer than the last build.
if [ ! -f dist/cli/flowtally.js ] || [ -n "$(find cli collector config schema store bench aggregator query registry accounts sla wal web -name '*.ts' -newer dist/cli/flowtally.js 2>/dev/null | head -n 1)" ]; then
  echo "setup: build" >&2
  npx tsc -p tsconfig.build.json
fi
