-- Move dead-lettered items back onto the worklist, due at ARGV[1], with their attempts reset.
-- KEYS[1] due ZSET, KEYS[2] attempts HASH, KEYS[3] dead ZSET
-- ARGV[1] due time, ARGV[2..] ids
-- Returns the number of items requeued (ids that are not dead are ignored).
local requeued = 0
for i = 2, #ARGV do
  if redis.call("ZREM", KEYS[3], ARGV[i]) == 1 then
    redis.call("HDEL", KEYS[2], ARGV[i])
    redis.call("ZADD", KEYS[1], ARGV[1], ARGV[i])
    requeued = requeued + 1
  end
end
return requeued
