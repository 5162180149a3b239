-- Forget messages of one inbox that SQL has committed: remove them from Redis, raise the
-- inbox's watermark to the newest of them, and re-score the inbox in the archive index.
-- Unread flags stay: the unread set keeps read state for archived messages too.
-- KEYS[1] inbox: ZSET of message ids, every score 0
-- KEYS[2] bodies: HASH id -> stored Message (JSON, or msgpack before)
-- KEYS[3] archive due: ZSET owner -> millisecond of the oldest message in the inbox
-- KEYS[4] archive watermarks: ZSET owner -> newest millisecond archived from the inbox
-- ARGV[1] the inbox's owner, ARGV[2] newest millisecond among the ids, ARGV[3..] ids
-- (none: only re-score the inbox)
-- Returns how many ids were removed.
local removed = 0
if #ARGV > 2 then
  local ids = {unpack(ARGV, 3)}
  removed = redis.call("ZREM", KEYS[1], unpack(ids))
  redis.call("HDEL", KEYS[2], unpack(ids))
  redis.call("ZADD", KEYS[4], "GT", ARGV[2], ARGV[1])
end
local oldest = redis.call("ZRANGE", KEYS[1], 0, 0)
if #oldest == 0 then
  redis.call("ZREM", KEYS[3], ARGV[1])
else
  redis.call("ZADD", KEYS[3], string.sub(oldest[1], 1, 13), ARGV[1])
end
return removed
