//! The server-side scripts: each is one atomic step in Redis, so no other
//! node's publish or read can fall between its parts. Times come from
//! Redis (`TIME`), never from a node's clock.

use std::sync::LazyLock;

use redis::Script;

/// Publishes, with history when a size is given: the idempotency check,
/// the stream entry (its id is the offset), the position, the TTLs and the
/// pub/sub message carrying offset and epoch, all at once.
///
/// KEYS: stream, meta, idempotency result (`""` for none).
/// ARGV: pub/sub channel, publication JSON, history size (0: none),
/// history TTL s, meta TTL s, epoch to use if the channel has none,
/// idempotency window s.
/// Returns `"<offset>:<epoch>"`.
pub(super) static PUBLISH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if KEYS[3] ~= '' then
  local seen = redis.call('get', KEYS[3])
  if seen then return seen end
end
local offset = 0
local epoch = ''
if ARGV[3] ~= '0' then
  epoch = redis.call('hget', KEYS[2], 'e')
  if not epoch then
    epoch = ARGV[6]
    redis.call('hset', KEYS[2], 'e', epoch)
    redis.call('del', KEYS[1])
  end
  offset = redis.call('hincrby', KEYS[2], 's', 1)
  redis.call('xadd', KEYS[1], 'MAXLEN', ARGV[3], offset .. '-0', 'd', ARGV[2])
  redis.call('expire', KEYS[1], ARGV[4])
  redis.call('expire', KEYS[2], ARGV[5])
end
redis.call('publish', ARGV[1], 'p' .. offset .. ':' .. epoch .. ':' .. ARGV[2])
local result = offset .. ':' .. epoch
if KEYS[3] ~= '' then
  redis.call('set', KEYS[3], result, 'EX', ARGV[7])
end
return result
",
    )
});

/// Reads a stream and its position (creating the position if the channel
/// has none, so a reader gets an epoch to recover against), and keeps the
/// position for another meta TTL.
///
/// KEYS: stream, meta.
/// ARGV: epoch to use if none, meta TTL s, read (`""` position only,
/// `fwd`, `rev`), start id, end id, count.
/// Returns `{top, epoch, entries}`.
pub(super) static HISTORY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local epoch = redis.call('hget', KEYS[2], 'e')
if not epoch then
  epoch = ARGV[1]
  redis.call('hset', KEYS[2], 'e', epoch)
  redis.call('del', KEYS[1])
end
local top = redis.call('hget', KEYS[2], 's') or '0'
redis.call('expire', KEYS[2], ARGV[2])
if ARGV[3] == '' then
  return {top, epoch, {}}
end
local entries
if ARGV[3] == 'fwd' then
  entries = redis.call('xrange', KEYS[1], ARGV[4], ARGV[5], 'COUNT', ARGV[6])
else
  entries = redis.call('xrevrange', KEYS[1], ARGV[4], ARGV[5], 'COUNT', ARGV[6])
end
return {top, epoch, entries}
",
    )
});

/// Adds or refreshes a presence entry until now + TTL.
///
/// KEYS: expiry zset, info hash. ARGV: client id, info JSON, TTL ms.
pub(super) static ADD_PRESENCE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('zadd', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('hset', KEYS[2], ARGV[1], ARGV[2])
redis.call('pexpire', KEYS[1], ARGV[3])
redis.call('pexpire', KEYS[2], ARGV[3])
",
    )
});

/// Removes entries of a zset-and-hash pair.
///
/// KEYS: expiry zset, info hash. ARGV: the members.
pub(super) static REMOVE_MEMBERS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('zrem', KEYS[1], unpack(ARGV))
redis.call('hdel', KEYS[2], unpack(ARGV))
",
    )
});

/// The live entries of a zset-and-hash pair (presence, nodes), dropping the
/// expired ones first.
///
/// KEYS: expiry zset, info hash. Returns the hash's field/value pairs.
pub(super) static LIVE_MEMBERS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('zrangebyscore', KEYS[1], '-inf', now)
for i = 1, #expired, 1000 do
  local chunk = {unpack(expired, i, math.min(i + 999, #expired))}
  redis.call('zrem', KEYS[1], unpack(chunk))
  redis.call('hdel', KEYS[2], unpack(chunk))
end
return redis.call('hgetall', KEYS[2])
",
    )
});

/// Records a node as alive until now + TTL.
///
/// KEYS: nodes zset, node info hash. ARGV: uid, info JSON, TTL ms.
pub(super) static ANNOUNCE_NODE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('zadd', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('hset', KEYS[2], ARGV[1], ARGV[2])
",
    )
});
