import { createPino } from './app-logger';

describe('createPino', () => {
  it.each([
    ['error', 'error'],
    ['warn', 'warn'],
    ['log', 'info'],
    ['debug', 'debug'],
    ['verbose', 'trace'],
  ] as const)('LOG_LEVEL=%s logs at pino level %s', (logLevel, pinoLevel) => {
    expect(createPino({ logLevel, production: true }).level).toBe(pinoLevel);
  });
});
