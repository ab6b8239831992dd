import { Process } from '@nestjs/bull';

/**
 * `@Process()` options are fixed when the class is defined, but a worker's concurrency comes from
 * its configuration: this re-applies `@Process` to one instance's handler with that concurrency,
 * before Bull's explorer reads it at module init (it looks the handler up on the instance).
 */
export function processWithConcurrency<T extends object>(
  instance: T,
  method: keyof T & string,
  name: string,
  concurrency: number,
): void {
  const handler = (instance[method] as (...args: unknown[]) => unknown).bind(instance);
  Process({ name, concurrency })(instance, method, { value: handler });
  Object.defineProperty(instance, method, { value: handler });
}
