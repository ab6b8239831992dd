import type { IncomingMessage, ServerResponse } from 'node:http';
import { Logger as PinoNestLogger, Params, PinoLogger } from 'nestjs-pino';
import pino, { Level } from 'pino';
import pretty from 'pino-pretty';
import type { AppConfig, ConfigLogLevel } from '../config/app-config';
import { assignRequestId } from './request-id.middleware';
import type { ServiceRequest } from './service-request';

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

/** The process's pino logger: JSON lines in production, else pino-pretty (synchronous: no line is lost on exit). */
export function createPino(config: Pick<AppConfig, 'logLevel' | 'production'>): pino.Logger {
  const options: pino.LoggerOptions = {
    level: pinoLevels[config.logLevel],
    redact: { paths: redactedPaths, censor: '[redacted]' },
  };
  if (config.production) return pino(options);
  return pino(
    options,
    pretty({ sync: true, singleLine: true, ignore: 'pid,hostname', colorize: process.stdout.isTTY }),
  );
}

/** nestjs-pino's settings: pino-http logs one line per request, carrying the x-request-id the service echoes. */
export function loggerParams(logger: pino.Logger): Params {
  return {
    forRoutes: ['{*path}'],
    pinoHttp: {
      logger,
      genReqId: (request: IncomingMessage, response: ServerResponse) =>
        assignRequestId(request as ServiceRequest, response),
      customProps: (request: IncomingMessage) => ({ request_id: (request as ServiceRequest).requestId }),
      customSuccessMessage: (request, response) => `${request.method} ${request.url} ${response.statusCode}`,
      customErrorMessage: (request, response) => `${request.method} ${request.url} ${response.statusCode}`,
    },
  };
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
