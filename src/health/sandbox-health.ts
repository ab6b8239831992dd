/** Injection token for whatever can tell whether the sandbox can run code right now. */
export const SANDBOX_HEALTH = Symbol('SANDBOX_HEALTH');

export interface SandboxHealth {
  isHealthy(): Promise<boolean>;
}
