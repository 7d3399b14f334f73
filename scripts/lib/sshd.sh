# Starts a throwaway OpenSSH sshd on loopback for benchmarks: generated host and user keys, known_hosts, inventory.
# After `start_test_sshd DIR`: SSHD_PORT, SSHD_USER, SSHD_KEY, SSHD_KNOWN_HOSTS, SSHD_PID are set; `stop_test_sshd` ends it.
start_test_sshd() {
  local dir=$1
  mkdir -p "$dir" /run/sshd
  ssh-keygen -q -t ed25519 -N '' -f "$dir/host_ed25519"
  ssh-keygen -q -t ed25519 -N '' -f "$dir/user_ed25519"
  cp "$dir/user_ed25519.pub" "$dir/authorized_keys"
  SSHD_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  SSHD_USER=$(id -un)
  SSHD_KEY="$dir/user_ed25519"
  SSHD_KNOWN_HOSTS="$dir/known_hosts"
  cat > "$dir/sshd_config" <<CFG
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $dir/host_ed25519
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
LogLevel ERROR
Subsystem sftp /usr/lib/openssh/sftp-server
CFG
  echo "[127.0.0.1]:$SSHD_PORT $(cut -d' ' -f1,2 "$dir/host_ed25519.pub")" > "$SSHD_KNOWN_HOSTS"
  /usr/sbin/sshd -D -e -f "$dir/sshd_config" 2>"$dir/sshd.log" &
  SSHD_PID=$!
  for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$SSHD_PORT) 2>/dev/null && return 0; sleep 0.05; done
  echo "sshd did not start: $(cat "$dir/sshd.log")" >&2; return 1
}

stop_test_sshd() { kill "$SSHD_PID" 2>/dev/null || true; wait "$SSHD_PID" 2>/dev/null || true; }

# PIN=1 models the node and the coordinator as two machines on a 2-core box: sshd and everything it starts (the node's
# side: the worker daemon, agents, `cat`) run on CPU 0, and the client (OpenSSH's or podium's coordinator) on CPU 1.
# Without PIN both sides share both cores, and the client's cost and the node's add up. Sets CLIENT_PIN (a command
# prefix, empty without PIN) and PINNED (true/false, for the JSON line).
pin_sides() {
  CLIENT_PIN=""; PINNED=false
  [ "${PIN:-0}" = 1 ] || return 0
  if [ "$(nproc)" -lt 2 ]; then echo "PIN=1 needs at least 2 CPUs" >&2; exit 2; fi
  taskset -a -p -c 0 "$SSHD_PID" >/dev/null
  CLIENT_PIN="taskset -c 1"; PINNED=true
}
