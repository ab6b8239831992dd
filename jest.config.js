const nestCli = require('./nest-cli.json');

// The same @nestjs/swagger plugin options as `nest build`, so generated OpenAPI documents match.
const swaggerPlugin = nestCli.compilerOptions.plugins.find((plugin) => plugin.name === '@nestjs/swagger');

module.exports = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  rootDir: '.',
  testRegex: '(src/.*\\.spec|test/.*\\.e2e-spec)\\.ts$',
  transform: {
    '^.+\\.ts$': [
      'ts-jest',
      {
        tsconfig: 'tsconfig.spec.json',
        // The SDK test's generated client needs lib "DOM" (fetch's BodyInit); that test type-checks it with tsc itself.
        diagnostics: { exclude: ['**/test/.generated/**'] },
        astTransformers: {
          before: [{ path: '<rootDir>/test/swagger-plugin.transformer.js', options: swaggerPlugin.options }],
        },
      },
    ],
  },
  testEnvironment: 'node',
  // Process tests run the built service (node dist-test/main.js): built once per run, when sources changed.
  globalSetup: '<rootDir>/test/support/build-service.js',
  // E2E tests run real Redis, sandboxes and processes; on a loaded 2-core machine 5 s is too tight.
  // A bound, not a target: timing targets live in bench/.
  testTimeout: 30_000,
  // A suite that fails mid-way can leave its app (sandboxes, Redis clients) open; CI must end with
  // the failure rather than hang. Passing runs close everything themselves (afterAll → app.close).
  forceExit: true,
};
