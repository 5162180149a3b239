-- Remove finished items from the worklist, wherever they are (due, leased or dead).
-- KEYS[1] due ZSET, KEYS[2] leased ZSET, KEYS[3] dead ZSET, KEYS[4] payloads HASH,
-- KEYS[5] attempts HASH
-- ARGV the ids (at most a few thousand: they are unpacked onto Lua's stack)
-- Returns the number of ids that were on the worklist.
redis.call("ZREM", KEYS[1], unpack(ARGV))
redis.call("ZREM", KEYS[2], unpack(ARGV))
redis.call("ZREM", KEYS[3], unpack(ARGV))
redis.call("HDEL", KEYS[5], unpack(ARGV))
return redis.call("HDEL", KEYS[4], unpack(ARGV))
