import { LuaScript } from '../redis/lua-script';

// The sessions' atomic steps, one round trip each (session.repository.ts calls them).

// A new session, unless its owner (KEYS[3]: live sessions) or its worker (KEYS[4]) is at its limit;
// indexed for its owner's listing, and announced on the worker's stream (KEYS[5]) in the same step.
// KEYS: record, owner index, owner's live set, worker's live set, worker's stream. ARGV: session id,
// created_at, per-key limit, per-worker limit, owner index TTL ms, then the record's fields and values.
// Answers 1 when created, -1 at the key's limit, -2 at the worker's.
export const CREATE_SESSION_SCRIPT = new LuaScript(`
if redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[3]) then return -1 end
if redis.call('SCARD', KEYS[4]) >= tonumber(ARGV[4]) then return -2 end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('XADD', KEYS[5], '*', 'type', 'create', 'session', ARGV[1])
return 1`);

// Ends a session once: status ended with its reason, readable for ARGV[5] seconds, out of its owner's
// and worker's live sets; its open calls are taken (the caller answers them 410).
// KEYS: record, open calls. ARGV: key prefix, session id, reason, ended_at, retention s.
// Answers nil (no such session), {0, earlier reason} (ended already) or {1, worker, open call ids...}.
export const END_SESSION_SCRIPT = new LuaScript(`
local status, owner, worker, reason = unpack(redis.call('HMGET', KEYS[1], 'status', 'owner', 'worker', 'ended_reason'))
if not status then return nil end
if status == 'ended' then return {0, reason} end
redis.call('HSET', KEYS[1], 'status', 'ended', 'ended_reason', ARGV[3], 'ended_at', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('SREM', ARGV[1] .. ':sessions:live:' .. owner, ARGV[2])
redis.call('SREM', ARGV[1] .. ':sessions:worker:' .. worker, ARGV[2])
local calls = redis.call('SMEMBERS', KEYS[2])
redis.call('DEL', KEYS[2])
return {1, worker, unpack(calls)}`);

// A call into a live session: open (answered 410 if the session ends first) and on its worker's stream.
// KEYS: record, open calls. ARGV: key prefix, job id, job data (JSON), session id.
// Answers {1} when routed, {0, reason} when the session has ended ('unknown' when it does not exist).
export const ENQUEUE_CALL_SCRIPT = new LuaScript(`
local status, worker, reason = unpack(redis.call('HMGET', KEYS[1], 'status', 'worker', 'ended_reason'))
if not status then return {0, 'unknown'} end
if status == 'ended' then return {0, reason} end
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('XADD', ARGV[1] .. ':session-calls:' .. worker, '*', 'type', 'call', 'session', ARGV[4], 'data', ARGV[3])
return {1}`);
