#!/usr/bin/env bash
# Installs podium-worker on this node and starts its daemon.
#   sudo workers/install.sh PATH/TO/podium-worker --node NAME [--work-dir /var/lib/podium-worker] [--runtime docker|process]
#                           [--gpus N] [--cpus N] [--memory 64g]
# The inventory entry for the node must use the same work_dir (the coordinator reaches the daemon through
# `podium-worker attach --work-dir …` over SSH). Without systemd, the first `attach` starts the daemon itself.
set -euo pipefail
bin=${1:?usage: install.sh PATH/TO/podium-worker --node NAME [flags]}; shift
[ -x "$bin" ] || { echo "error: $bin is not an executable podium-worker" >&2; exit 2; }
grep -q -- "--node" <<<"$*" || { echo "error: --node NAME is required (the node's name in the inventory)" >&2; exit 2; }
workdir=/var/lib/podium-worker
args=("$@")
for ((i=0; i<${#args[@]}; i++)); do [ "${args[$i]}" = "--work-dir" ] && workdir=${args[$((i+1))]}; done
grep -q -- "--work-dir" <<<"$*" || args+=(--work-dir "$workdir")
install -m 0755 "$bin" /usr/local/bin/podium-worker
install -d -m 0700 "$workdir"
/usr/local/bin/podium-worker --version
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  sed "s|@FLAGS@|${args[*]}|" "$(dirname "$0")/podium-worker.service" > /etc/systemd/system/podium-worker.service
  systemctl daemon-reload
  systemctl enable --now podium-worker.service
  systemctl --no-pager status podium-worker.service | head -5
else
  echo "no systemd: the coordinator's first \`podium-worker attach ${args[*]}\` starts the daemon (log: $workdir/daemon.log)"
fi
