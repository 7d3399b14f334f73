# Shared setup for scripts/demo and scripts/test: install what is missing, start what is needed.
# Debian/Ubuntu; runs apt-get only for packages that are not installed yet.

PODIUM_APT_PACKAGES=(libssh2-1-dev libsqlite3-dev docker.io busybox-static gcc libc6-dev openssh-server tar coreutils)
# Only the tests need these: a headless browser to render the HTML report, Python for the grading benchmark's reference,
# pgrep/pkill for the fault tests.
PODIUM_TEST_APT_PACKAGES=(chromium python3 procps slurm-wlm munge)

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "error: need root (or sudo) to run: $*" >&2; return 2; fi
}

ensure_packages() {
  local missing=()
  for p in "${PODIUM_APT_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "podium setup: installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  if ! command -v swift >/dev/null; then
    for d in /opt/swift/usr/bin /usr/share/swift/usr/bin; do [ -x "$d/swift" ] && export PATH="$d:$PATH"; done
  fi
  command -v swift >/dev/null || {
    echo "error: no Swift toolchain on PATH; install Swift 6.1 or newer (swift.org/install) and run again" >&2; exit 2; }
}

# Prometheus' own text-format parser (the official Python client), for the /metrics test and benchmark.
ensure_prometheus_parser() {
  python3 -c "import prometheus_client" 2>/dev/null && return 0
  echo "podium setup: installing prometheus_client (pip)"
  python3 -m pip install -q prometheus_client 2>/dev/null || python3 -m pip install -q --break-system-packages prometheus_client \
    || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-prometheus-client >/dev/null
}

docker_ready() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

ensure_dockerd() {
  docker_ready && return 0
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    as_root systemctl start docker 2>/dev/null || true
  fi
  if ! docker_ready; then
    echo "podium setup: starting dockerd (log: /var/log/podium-dockerd.log)"
    as_root sh -c 'nohup dockerd >/var/log/podium-dockerd.log 2>&1 &'
  fi
  for _ in $(seq 1 60); do docker_ready && return 0; sleep 0.5; done
  echo "error: dockerd did not come up; see /var/log/podium-dockerd.log" >&2
  tail -20 /var/log/podium-dockerd.log >&2 || true
  exit 1
}
