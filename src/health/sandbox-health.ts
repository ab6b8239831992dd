/** Injection token for whatever can tell whether the sandbox can run code right now. */
export const SANDBOX_HEALTH = Symbol('SANDBOX_HEALTH');

export interface SandboxHealth {
  isHealthy(): Promise<boolean>;
}

/** Injection token for the workers an API process sees (its readiness body lists them). */
export const WORKERS_SEEN = Symbol('WORKERS_SEEN');

export interface WorkersSeen {
  list(): Promise<object[]>;
}
