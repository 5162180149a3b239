-- Record a failed attempt at a leased item: due again at ARGV[2], or dead once it is out of attempts.
-- KEYS[1] due ZSET, KEYS[2] leased ZSET, KEYS[3] attempts HASH, KEYS[4] dead ZSET
-- ARGV[1] id, ARGV[2] retry at, ARGV[3] now, ARGV[4] attempts allowed
-- Returns 0 if the item is not leased (nothing changes), 1 if it is due again, 2 if dead-lettered.
if not redis.call("ZSCORE", KEYS[2], ARGV[1]) then
  return 0
end
redis.call("ZREM", KEYS[2], ARGV[1])
if redis.call("HINCRBY", KEYS[3], ARGV[1], 1) >= tonumber(ARGV[4]) then
  redis.call("ZADD", KEYS[4], ARGV[3], ARGV[1])
  return 2
end
redis.call("ZADD", KEYS[1], ARGV[2], ARGV[1])
return 1
