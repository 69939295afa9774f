#!/usr/bin/env bash
# Separate network "hosts" on this machine, for distributed tests with link faults
# (test/66.distributed.hosts.test.ts): N network namespaces (trnn-h1 … trnn-hN), each with one
# interface eth0 at 10.213.0.<i>/24, plugged by a veth pair into a bridge that lives in a
# namespace of its own (trnn-sw, the "switch"). Nothing is added to this machine's own network
# namespace, so no traffic leaves the machine and the host's firewall (Docker's FORWARD DROP,
# br_netfilter) never sees these packets.
#
#   bash scripts/netns-hosts.sh [up] [-n N]        create the hosts (idempotent; default N=3)
#   bash scripts/netns-hosts.sh down               delete them, killing what still runs inside
#   bash scripts/netns-hosts.sh exec HOST CMD…     run CMD on HOST (h1, 1 or trnn-h1)
#   bash scripts/netns-hosts.sh link-down HOST     pull HOST's cable: its switch port goes down
#                                                  (HOST sees NO-CARRIER; no packet passes, no
#                                                  error reaches its sockets: pure silence)
#   bash scripts/netns-hosts.sh link-up HOST       plug it back
#   bash scripts/netns-hosts.sh status             the hosts, their address, link state, processes
#   bash scripts/netns-hosts.sh addr HOST          HOST's address (10.213.0.<i>)
#
# `up` repairs what a killed run left behind: hosts beyond N are removed (with any process still
# in them), a half-made veth pair is made again, and every cable is plugged back in; processes
# still running in hosts 1…N are listed (`down` kills them).
# Environment: TRNN_NETNS_PREFIX (default trnn), TRNN_NETNS_SUBNET (the first three octets,
# default 10.213.0), TRNN_NETNS_HOSTS (default N).
# Needs root and iproute2 (Debian: apt-get install iproute2). Exit status 2 on a usage error,
# 3 when root or iproute2's `ip netns` is missing, 1 when a command fails.
set -euo pipefail

prefix="${TRNN_NETNS_PREFIX:-trnn}"
subnet="${TRNN_NETNS_SUBNET:-10.213.0}"
count="${TRNN_NETNS_HOSTS:-3}"
sw="$prefix-sw"
lock="/run/$prefix-netns.lock"

say() { printf '[netns] %s\n' "$*" >&2; }
die() { printf '[netns] error: %s\n' "$1" >&2; exit "${2:-1}"; }
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

[[ "$prefix" =~ ^[a-z][a-z0-9]{0,5}$ ]] || die "TRNN_NETNS_PREFIX must be 1 to 6 lower-case letters or digits, not '$prefix'" 2
[[ "$subnet" =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || die "TRNN_NETNS_SUBNET must be three octets (e.g. 10.213.0), not '$subnet'" 2

verb="${1:-up}"
(( $# )) && shift
case "$verb" in
  -h|--help|help) usage; exit 0 ;;
  -n) set -- -n "$@"; verb=up ;;
esac
if [[ "$verb" == up ]]; then
  while (( $# )); do
    case "$1" in
      -n) [[ "${2:-}" =~ ^[0-9]+$ ]] || die "-n needs a number of hosts" 2; count="$2"; shift 2 ;;
      *) die "unknown argument for up: $1" 2 ;;
    esac
  done
fi
[[ "$count" =~ ^[0-9]+$ ]] && (( count >= 1 && count <= 250 )) || die "the number of hosts must be in [1, 250], not '$count'" 2

# --- requirements ------------------------------------------------------------------------------
(( EUID == 0 )) || die "needs root (network namespaces); run it with sudo" 3
command -v ip >/dev/null 2>&1 || die "needs iproute2's ip command (Debian: apt-get install iproute2)" 3
ip netns list >/dev/null 2>&1 || die "this ip cannot manage network namespaces (ip netns list failed: is this a container without CAP_SYS_ADMIN?)" 3

# HOST as h2, 2 or trnn-h2 -> 2
host_index() {
  local h="$1"
  h="${h#"$prefix"-}"
  h="${h#h}"
  [[ "$h" =~ ^[0-9]+$ ]] && (( h >= 1 )) || die "unknown host '$1' (use h1 … h$count, 1 … $count or $prefix-h1 …)" 2
  printf '%d' "$h"
}
ns_of() { printf '%s-h%d' "$prefix" "$1"; }
exists() { ip netns list | awk '{ print $1 }' | grep -x -- "$1" >/dev/null; }
our_namespaces() { ip netns list | awk '{ print $1 }' | grep -E "^$prefix-(sw|h[0-9]+)$" | sort -V || true; }

# Kills the processes in namespace $1 (by pid: only those in it), then deletes it.
remove_ns() {
  local ns="$1" pids tries
  exists "$ns" || return 0
  for tries in 1 2 3 4 5 6 7 8 9 10; do
    pids="$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')"
    [[ -z "${pids// }" ]] && break
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    sleep 0.1
  done
  [[ -z "${pids// }" ]] || say "processes still in $ns after SIGKILL: $pids"
  ip netns del "$ns" 2>/dev/null || ip netns del "$ns"
}

with_lock() { # one `up` or `down` at a time (two test runs starting together)
  exec 8>"$lock"
  flock -w 30 8 || die "another netns-hosts.sh holds $lock for more than 30 s"
}

up() {
  with_lock
  local i ns addr stale
  # what a killed run with more hosts left behind
  while read -r stale; do
    [[ -n "$stale" ]] || continue
    if [[ "$stale" =~ ^$prefix-h([0-9]+)$ ]] && (( BASH_REMATCH[1] > count )); then
      say "removing the stale namespace $stale"
      remove_ns "$stale"
    fi
  done < <(our_namespaces)
  if ! exists "$sw"; then
    local err
    err="$(ip netns add "$sw" 2>&1)" || die "cannot create network namespaces here (ip netns add: ${err:-failed}): a container without CAP_SYS_ADMIN?" 3
  fi
  ip -n "$sw" link set lo up
  ip -n "$sw" link show br0 >/dev/null 2>&1 || ip -n "$sw" link add br0 type bridge
  ip -n "$sw" link set br0 up
  for (( i = 1; i <= count; i++ )); do
    ns="$(ns_of "$i")"
    addr="$subnet.$i"
    exists "$ns" || ip netns add "$ns"
    ip -n "$ns" link set lo up
    if ! ip -n "$ns" link show eth0 >/dev/null 2>&1 || ! ip -n "$sw" link show "h$i" >/dev/null 2>&1; then
      # a half-made pair (a run killed between the two ends): remove both ends, make it again
      ip -n "$ns" link del eth0 2>/dev/null || true
      ip -n "$sw" link del "h$i" 2>/dev/null || true
      # both ends are made where they live: nothing appears in this machine's namespace
      ip link add eth0 netns "$ns" type veth peer name "h$i" netns "$sw"
    fi
    ip -n "$sw" link set "h$i" master br0
    ip -n "$sw" link set "h$i" up
    ip -n "$ns" addr replace "$addr/24" dev eth0
    ip -n "$ns" link set eth0 up
  done
  # wait until every host's link has its carrier (the bridge port forwards at once: no STP)
  for (( i = 1; i <= count; i++ )); do
    ns="$(ns_of "$i")"
    local t
    for t in $(seq 50); do
      ip -n "$ns" link show eth0 | grep -q 'LOWER_UP' && break
      sleep 0.1
    done
    ip -n "$ns" link show eth0 | grep -q 'LOWER_UP' || die "$ns: eth0 has no carrier"
  done
  local left
  for (( i = 1; i <= count; i++ )); do
    left="$(ip netns pids "$(ns_of "$i")" | tr '\n' ' ')"
    [[ -z "${left// }" ]] || say "$(ns_of "$i") still runs: $left(\`$0 down\` kills them)"
  done
  say "up: $count host(s) $(ns_of 1) … $(ns_of "$count") at $subnet.1 … $subnet.$count/24 (eth0), switch $sw"
}

down() {
  with_lock
  local ns n=0
  while read -r ns; do
    [[ -n "$ns" ]] || continue
    remove_ns "$ns"
    n=$(( n + 1 ))
  done < <(our_namespaces)
  say "down: removed $n namespace(s)"
}

link() { # link STATE HOST
  local i
  i="$(host_index "$2")"
  exists "$sw" && ip -n "$sw" link show "h$i" >/dev/null 2>&1 || die "host h$i does not exist (run: $0 up)"
  ip -n "$sw" link set "h$i" "$1"
  if [[ "$1" == up ]]; then
    # the ARP entries that failed while the cable was out would answer "No route to host" for
    # a while (until the kernel retries): forget them on every host, and wait for the carrier
    local ns t
    for ns in $(our_namespaces); do [[ "$ns" == "$sw" ]] || ip -n "$ns" neigh flush all 2>/dev/null || true; done
    for t in $(seq 50); do
      ip -n "$(ns_of "$i")" link show eth0 | grep -q 'LOWER_UP' && break
      sleep 0.1
    done
  fi
}

status() {
  local ns i state pids
  for ns in $(our_namespaces); do
    if [[ "$ns" == "$sw" ]]; then printf '%-12s switch\n' "$ns"; continue; fi
    i="${ns##*-h}"
    state="$(ip -n "$ns" -br link show eth0 2>/dev/null | awk '{ print $2, $3 }')"
    pids="$(ip netns pids "$ns" | tr '\n' ' ')"
    printf '%-12s %-14s eth0 %-28s pids: %s\n' "$ns" "$subnet.$i" "$state" "${pids:-none}"
  done
}

case "$verb" in
  up) up ;;
  down) down ;;
  exec)
    (( $# >= 2 )) || die "usage: $0 exec HOST COMMAND [ARGS…]" 2
    ns="$(ns_of "$(host_index "$1")")"
    shift
    exists "$ns" || die "$ns does not exist (run: $0 up)"
    exec ip netns exec "$ns" "$@"
    ;;
  link-down|link-up)
    (( $# == 1 )) || die "usage: $0 $verb HOST" 2
    link "${verb#link-}" "$1"
    ;;
  addr)
    (( $# == 1 )) || die "usage: $0 addr HOST" 2
    printf '%s.%d\n' "$subnet" "$(host_index "$1")"
    ;;
  status) status ;;
  *) usage >&2; die "unknown command '$verb' (up, down, exec, link-down, link-up, addr, status)" 2 ;;
esac
