#!/usr/bin/env bash
# Prints a TCP port nothing listens on at 127.0.0.1, for a server the benchmarks start
# later. Chosen below the kernel's ephemeral range (ip_local_port_range), where no outgoing
# connection can take it in the meantime; the same rule as LocalCluster.freeLoopbackPort.
set -euo pipefail
ephemeral_start=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
((ephemeral_start > 21000)) || { echo "the ephemeral range starts at $ephemeral_start: no room below it" >&2; exit 1; }
for ((attempt = 0; attempt < 100; attempt++)); do
  port=$((20000 + RANDOM % (ephemeral_start - 20000)))
  if [[ -z $(ss -Htln "sport = :$port") ]]; then
    echo "$port"
    exit 0
  fi
done
echo "no free loopback port found below $ephemeral_start" >&2
exit 1
