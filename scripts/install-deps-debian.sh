#!/usr/bin/env bash
# Installs the system packages the service needs besides Node on Debian/Ubuntu:
# bubblewrap (the sandbox), redis-server (embedded Redis when REDIS_URL is unset), python3 at /usr/bin/python3,
# python3-matplotlib (for user code's plots),
# and chromium (only for the tests: npm test opens Swagger UI in it through playwright-core).
# Already-installed packages are skipped, and apt-get is not run at all when nothing is missing.
# Run by `npm start` and `npm test` (prestart/pretest) and by CI; --test adds what the tests use. Not root and no passwordless
# sudo: one line naming what to install, exit 1.
set -euo pipefail

min_node_major=20
min_node_minor=19

if ! command -v node >/dev/null 2>&1; then
  echo "Node.js >= ${min_node_major}.${min_node_minor} is required: install it from https://nodejs.org or NodeSource" >&2
  exit 1
fi
if ! node -e "const [major, minor] = process.versions.node.split('.').map(Number);
  process.exit(major > ${min_node_major} || (major === ${min_node_major} && minor >= ${min_node_minor}) ? 0 : 1)"; then
  echo "Node.js >= ${min_node_major}.${min_node_minor} is required, found $(node --version)" >&2
  exit 1
fi

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x /usr/bin/python3 ] || missing+=(python3)
installed python3-matplotlib || missing+=(python3-matplotlib)  # plots in runs come back as PNG (response.display)
if [ "${1:-}" = "--test" ]; then
  # What the test suite adds: Debian python3-* packages with native libraries, imported in the sandbox,
  # python3-seccomp (libseccomp's syscall tables, to check the filter's numbers), and Chromium for the
  # Swagger UI test.
  for pkg in python3-numpy python3-pandas python3-seccomp chromium; do
    installed "$pkg" || missing+=("$pkg")
  done
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "System packages present: bubblewrap, redis-server, /usr/bin/python3${1:+ and the test packages}"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1 || ! sudo -n true 2>/dev/null; then
    echo "Missing system packages: ${missing[*]}. Install them as root: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  sudo=(sudo -n)
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Missing system packages: ${missing[*]} (no apt-get here: install them with your package manager)" >&2
  exit 1
fi

echo "Installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! { "${sudo[@]}" apt-get update -q && "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; } </dev/null >/tmp/pyexec-apt.log 2>&1; then
  echo "Could not install ${missing[*]} with apt-get (log: /tmp/pyexec-apt.log)" >&2
  exit 1
fi
