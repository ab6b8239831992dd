#!/usr/bin/env node
// Writes deploy/seccomp/pyexec-bwrap.json: Docker's default seccomp profile plus exactly the calls
// bubblewrap (and the fork server's per-run clone) need as a non-root user without CAP_SYS_ADMIN.
// Docker's and containerd's default profiles allow them only with CAP_SYS_ADMIN, which would also
// give bwrap capabilities it refuses to run with. Each addition carries its reason in `comment`
// (the profile format's own field) and in deploy/seccomp/README.md.
//
//   node scripts/seccomp-profile.js path/to/moby/profiles/seccomp/default.json
//
// Input: default.json of github.com/moby/profiles (seccomp), the version Docker vendors.
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const OUTPUT = join(__dirname, '..', 'deploy', 'seccomp', 'pyexec-bwrap.json');
/** Every entry this script adds has a comment with this prefix (the manifest test strips them to compare). */
const PREFIX = 'pyexec-bwrap: ';

/** The additions, appended after Docker's entries (seccomp allows a call when any entry matches it). */
const ADDITIONS = [
  {
    names: ['clone'],
    comment:
      'namespace flags (CLONE_NEWUSER, NEWPID, NEWNS, NEWNET, NEWIPC, NEWUTS, NEWCGROUP): bwrap creates the ' +
      "sandbox's namespaces with one clone(), and the fork server clones each run into fresh ones; " +
      "Docker's default allows clone only without these flags unless CAP_SYS_ADMIN",
  },
  {
    names: ['unshare'],
    comment:
      'bwrap --dev maps the caller to root in its first user namespace (to mount devpts), then ' +
      "unshare(CLONE_NEWUSER) makes a second one with the caller's own uid",
  },
  {
    names: ['mount', 'umount2'],
    comment:
      "bwrap builds the sandbox's root (bind mounts of /usr, a fresh /proc, /dev, tmpfs /tmp, read-only " +
      "remounts) and detaches the old root; a run's pid 1 mounts its own /proc, /tmp, /dev/shm and /dev/pts",
  },
  {
    names: ['pivot_root'],
    comment: "bwrap switches to the sandbox's root with pivot_root (not in Docker's profile at all)",
  },
  {
    names: ['sethostname'],
    comment:
      "bwrap --hostname sandbox: names the sandbox's own UTS namespace (never the container's); without it the " +
      'service drops --hostname and keeps the inherited name',
  },
];

function main(input) {
  const profile = JSON.parse(readFileSync(input, 'utf8'));
  const upstream = profile.syscalls.filter((entry) => !String(entry.comment ?? '').startsWith(PREFIX));
  const added = ADDITIONS.map(({ names, comment }) => ({ names, action: 'SCMP_ACT_ALLOW', comment: PREFIX + comment }));
  const out = { ...profile, syscalls: [...upstream, ...added] };
  writeFileSync(OUTPUT, JSON.stringify(out, null, '\t') + '\n');
  console.log(`wrote ${OUTPUT}: ${upstream.length} entries of the input + ${added.length} additions`);
}

if (require.main === module) {
  if (!process.argv[2]) {
    console.error('usage: node scripts/seccomp-profile.js path/to/moby/profiles/seccomp/default.json');
    process.exit(2);
  }
  main(process.argv[2]);
}

module.exports = { ADDITIONS, PREFIX };
