import { START_JOB_LUA } from '../jobs/job.scripts';
import { LuaScript } from '../redis/lua-script';

// The sessions' atomic steps, one round trip each (session.repository.ts calls them).

// A new session on the live worker (its liveness key exists) that holds the fewest, unless its owner
// (KEYS[3]: live sessions) or every worker is at its limit; indexed for its owner's listing, and
// announced on the worker's stream in the same step.
// The worker in the calling process (ARGV[9], '' when none) is told by its caller instead (no XADD).
// KEYS: workers holding sessions, owner index, owner's live set. ARGV: key prefix, session id,
// created_at, per-key limit, per-worker limit, owner index TTL ms, idle TTL s, lifetime s, the calling
// process' worker id, then the record's fields and values.
// Answers {1, worker} when created ({2, worker}: on the calling process' worker, to tell in-process),
// {-1} at the key's limit, {-2} every worker full, {-3} no live worker.
export const CREATE_SESSION_SCRIPT = new LuaScript(`
if redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[4]) then return {-1} end
local best, fewest, seen = nil, nil, false
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. ':session-host:' .. id) == 1 then
    seen = true
    local held = redis.call('SCARD', ARGV[1] .. ':sessions:worker:' .. id)
    if held < tonumber(ARGV[5]) and (fewest == nil or held < fewest) then best, fewest = id, held end
  end
end
if not best then return {seen and -2 or -3} end
local key = ARGV[1] .. ':session:' .. ARGV[2]
redis.call('HSET', key, 'worker', best, unpack(ARGV, 10))
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('SADD', ARGV[1] .. ':sessions:worker:' .. best, ARGV[2])
if best == ARGV[9] then return {2, best} end
redis.call('XADD', ARGV[1] .. ':session-calls:' .. best, '*', 'type', 'create', 'session', ARGV[2],
  'created', ARGV[3], 'ttl', ARGV[7], 'lifetime', ARGV[8])
return {1, best}`);

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
// When that worker is the calling process' (ARGV[6], '' when none) and its stream is empty (so every
// earlier message to it has been handled: entries are deleted once handled), the caller hands it over
// in-process instead, and, when the session had no other open call and ARGV[7] (started_at) is set, the
// call is also started here (START_JOB_LUA): one call at a time, decided in one step.
// KEYS: record, open calls, the job's record and the unqueued set (JobRepository.startKeys).
// ARGV: key prefix, job id, job data (JSON), session id, the caller's key id, the calling process'
// worker id, started_at ('' = do not start).
// Answers {1} when routed, {2} to hand over in-process ({3}: and started), {0, reason} when the
// session has ended, {0, 'unknown'} when it does not exist or is another key's.
export const ENQUEUE_CALL_SCRIPT = new LuaScript(`${START_JOB_LUA}
local status, worker, reason, owner = unpack(redis.call('HMGET', KEYS[1], 'status', 'worker', 'ended_reason', 'owner'))
if not status or owner ~= ARGV[5] then return {0, 'unknown'} end
if status == 'ended' then return {0, reason} end
local alone = redis.call('SCARD', KEYS[2]) == 0
redis.call('SADD', KEYS[2], ARGV[2])
local stream = ARGV[1] .. ':session-calls:' .. worker
if worker == ARGV[6] and redis.call('XLEN', stream) == 0 then
  if alone and ARGV[7] ~= '' and start_job(KEYS[3], KEYS[4], ARGV[7], ARGV[2]) == 1 then return {3} end
  return {2}
end
redis.call('XADD', stream, '*', 'type', 'call', 'session', ARGV[4], 'data', ARGV[3])
return {1}`);
