import { ConsoleLogger } from '@nestjs/common';

/**
 * Nest's console logger, less Nest's own report of a failed boot (a stack trace): the boot error
 * is rethrown (abortOnError: false) and main.ts prints it as one line.
 */
export class AppLogger extends ConsoleLogger {
  override error(message: unknown, ...rest: unknown[]): void {
    if (rest[rest.length - 1] === 'ExceptionHandler') return;
    super.error(message, ...rest);
  }
}
