// `npm run test:containers`: the container end-to-end test (needs podman or docker), not part of `npm test`.
const base = require('../../jest.config');

module.exports = {
  ...base,
  rootDir: '../..',
  testRegex: 'test/containers/.*\\.containers-spec\\.ts$',
  globalSetup: undefined,
  // Building the image cold takes minutes on a loaded machine.
  testTimeout: 300_000,
};
