// Runs the @nestjs/swagger compiler plugin inside ts-jest, so specs see the same metadata as `nest build`.
const plugin = require('@nestjs/swagger/plugin');

module.exports = {
  name: 'nestjs-swagger-plugin',
  // Bump when the options in jest.config.js change shape, to invalidate ts-jest's cache.
  version: 1,
  factory: (tsCompiler, options) => plugin.before(options, tsCompiler.program),
};
