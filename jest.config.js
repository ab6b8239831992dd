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
        astTransformers: {
          before: [{ path: '<rootDir>/test/swagger-plugin.transformer.js', options: swaggerPlugin.options }],
        },
      },
    ],
  },
  testEnvironment: 'node',
};
