import { AsyncLocalStorage } from 'node:async_hooks';
import { Logger as PinoNestLogger, Params, PinoLogger } from 'nestjs-pino';
import pino, { Level } from 'pino';
import pretty from 'pino-pretty';
import type { AppConfig, ConfigLogLevel } from '../config/app-config';

const pinoLevels: Record<ConfigLogLevel, Level> = {
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/** Credentials never reach a log line; bodies (code, stdin, webhook URLs) are not logged at all. */
const redactedPaths = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
];

/** The id of the request being served (RequestLogMiddleware): every line logged meanwhile carries it. */
const requestContext = new AsyncLocalStorage<string>();

/** Runs `next` (the rest of the request's handling) with `requestId` as the request_id of its log lines. */
export function runWithRequestId(requestId: string, next: () => void): void {
  requestContext.run(requestId, next);
}

function requestIdOfContext(): { request_id?: string } {
  const requestId = requestContext.getStore();
  return requestId === undefined ? {} : { request_id: requestId };
}

/**
 * The process's pino logger: JSON lines in production, else pino-pretty (synchronous: no line is
 * lost on exit). `destination` replaces stdout for JSON lines (tests).
 */
export function createPino(
  config: Pick<AppConfig, 'logLevel' | 'production'>,
  destination?: pino.DestinationStream,
): pino.Logger {
  const { stdSerializers } = pino;
  const options: pino.LoggerOptions = {
    level: pinoLevels[config.logLevel],
    redact: { paths: redactedPaths, censor: '[redacted]' },
    // A request line's `req` and `res` as pino-http shows them (headers included, credentials redacted).
    serializers: { req: stdSerializers.req, res: stdSerializers.res },
    mixin: requestIdOfContext,
  };
  if (config.production) return destination ? pino(options, destination) : pino(options);
  return pino(
    options,
    pretty({ sync: true, singleLine: true, ignore: 'pid,hostname', colorize: process.stdout.isTTY }),
  );
}

/**
 * nestjs-pino's settings: its Nest logger writes to `logger`. Its request middleware (pino-http,
 * which builds two child loggers and serialises every request even when no request line is
 * written) is not mounted: RequestLogMiddleware writes the request lines and sets the request_id.
 */
export function loggerParams(logger: pino.Logger): Params {
  return { pinoHttp: { logger }, useExisting: true, forRoutes: [] };
}

/**
 * nestjs-pino's Nest logger, less Nest's own report of a failed boot (a stack trace): the boot error
 * is rethrown (abortOnError: false) and main.ts prints it as one line.
 */
export class AppLogger extends PinoNestLogger {
  constructor(params: Params) {
    super(new PinoLogger(params), params);
  }

  override error(message: unknown, ...rest: unknown[]): void {
    if (rest[rest.length - 1] === 'ExceptionHandler') return;
    super.error(message, ...rest);
  }
}
