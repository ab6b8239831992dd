import { createHash } from 'node:crypto';
import type Redis from 'ioredis';

type Arg = string | number;

/**
 * A Lua script called by its SHA1 (EVALSHA), on any client: Redis neither receives nor hashes the
 * source on every call. The source is sent (EVAL, which caches it) only when Redis does not know
 * the script yet: first use, a restarted Redis, SCRIPT FLUSH, a failover.
 */
export class LuaScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: Redis, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
