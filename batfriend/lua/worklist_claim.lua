-- Claim up to ARGV[2] due items: move them to the leased set until ARGV[3] and return them.
-- First, leases that ran out by ARGV[1] count as a failed attempt: such an item is due again
-- (from its lease deadline), or dead-lettered once it has used up ARGV[4] attempts.
-- KEYS[1] due ZSET (id -> due time), KEYS[2] leased ZSET (id -> lease deadline),
-- KEYS[3] payloads HASH (id -> payload), KEYS[4] attempts HASH (id -> failed attempts),
-- KEYS[5] dead ZSET (id -> when it was dead-lettered)
-- ARGV[1] now, ARGV[2] limit, ARGV[3] lease deadline, ARGV[4] attempts allowed
-- Returns a flat array {id1, payload1, attempts1, id2, ...}, earliest due first.
local now, limit, allowed = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[4])
local expired = redis.call("ZRANGEBYSCORE", KEYS[2], "-inf", now, "WITHSCORES", "LIMIT", 0, limit)
for i = 1, #expired, 2 do
  local id = expired[i]
  redis.call("ZREM", KEYS[2], id)
  if redis.call("HINCRBY", KEYS[4], id, 1) >= allowed then
    redis.call("ZADD", KEYS[5], now, id)
  else
    redis.call("ZADD", KEYS[1], expired[i + 1], id)
  end
end
local ids = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", now, "LIMIT", 0, limit)
if #ids == 0 then
  return {}
end
local leases = {}
for i, id in ipairs(ids) do
  leases[2 * i - 1] = ARGV[3]
  leases[2 * i] = id
end
redis.call("ZREM", KEYS[1], unpack(ids))
redis.call("ZADD", KEYS[2], unpack(leases))
local payloads = redis.call("HMGET", KEYS[3], unpack(ids))
local attempts = redis.call("HMGET", KEYS[4], unpack(ids))
local claimed = {}
for i, id in ipairs(ids) do
  claimed[3 * i - 2] = id
  claimed[3 * i - 1] = payloads[i] or ""
  claimed[3 * i] = attempts[i] or "0"
end
return claimed
