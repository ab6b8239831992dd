#!/usr/bin/env bash
# Installs the system packages the service needs besides Node on Debian/Ubuntu:
# bubblewrap (the sandbox), redis-server (embedded Redis when REDIS_URL is unset), python3 at /usr/bin/python3,
# and chromium (only for the tests: npm test opens Swagger UI in it through playwright-core).
# Already-installed packages are skipped, and apt-get is not run at all when nothing is missing.
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

missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x /usr/bin/python3 ] || missing+=(python3)
[ -x /usr/bin/chromium ] || missing+=(chromium)

if [ ${#missing[@]} -eq 0 ]; then
  echo "System packages present: bubblewrap, redis-server, /usr/bin/python3, /usr/bin/chromium"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "Missing packages (${missing[*]}) and not root: run as root or install sudo" >&2
    exit 1
  fi
  sudo=(sudo -n)
fi

echo "Installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
