// The hostile-code suites: run by `npm test` (and again as an unprivileged user when root), and
// alone, on whatever kernel this is, by `npm run test:hostile`.
'use strict';

module.exports = { HOSTILE_SUITES: ['test/sandbox.e2e-spec.ts', 'test/sandbox-hardening.e2e-spec.ts'] };
