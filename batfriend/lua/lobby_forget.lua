-- Forget messages of one lobby that SQL has committed: remove them from Redis, raise the
-- lobby's watermark to the newest of them, and unflag the lobby once within its cap.
-- KEYS[1] lobby info: HASH created_at, posted, archived (newest millisecond archived)
-- KEYS[2] history: ZSET of message ids, every score 0
-- KEYS[3] bodies: HASH id -> stored Message (JSON, or msgpack before)
-- KEYS[4] overflowing: ZSET lobby name -> when its history first passed the cap
-- ARGV[1] lobby name, ARGV[2] cap, ARGV[3] newest millisecond among the ids,
-- ARGV[4..] ids (none: only unflag the lobby if it is within its cap)
-- Returns how many ids were removed.
local removed = 0
if #ARGV > 3 then
  local ids = {unpack(ARGV, 4)}
  removed = redis.call("ZREM", KEYS[2], unpack(ids))
  redis.call("HDEL", KEYS[3], unpack(ids))
  if tonumber(ARGV[3]) > tonumber(redis.call("HGET", KEYS[1], "archived") or "0") then
    redis.call("HSET", KEYS[1], "archived", ARGV[3])
  end
end
if redis.call("ZCARD", KEYS[2]) <= tonumber(ARGV[2]) then
  redis.call("ZREM", KEYS[4], ARGV[1])
end
return removed
