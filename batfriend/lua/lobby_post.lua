-- Post one message to a lobby: members only; keeps the most recent <cap> messages.
-- KEYS[1] lobby info: HASH created_at, posted (messages ever posted)
-- KEYS[2] members: ZSET username -> last seen
-- KEYS[3] history: ZSET of message ids, every score 0, so ids sort by lex = time order
-- KEYS[4] bodies: HASH id -> msgpack Message
-- ARGV[1] username, ARGV[2] id, ARGV[3] msgpack Message, ARGV[4] now, ARGV[5] cap
-- Returns 1 when posted, 0 when the poster is not a member, -1 when nobody ever joined.
if redis.call("EXISTS", KEYS[1]) == 0 then
  return -1
end
if not redis.call("ZSCORE", KEYS[2], ARGV[1]) then
  return 0
end
redis.call("ZADD", KEYS[2], "XX", "GT", ARGV[4], ARGV[1])
redis.call("ZADD", KEYS[3], 0, ARGV[2])
redis.call("HSET", KEYS[4], ARGV[2], ARGV[3])
redis.call("HINCRBY", KEYS[1], "posted", 1)
local excess = redis.call("ZCARD", KEYS[3]) - tonumber(ARGV[5])
if excess > 0 then
  local oldest = redis.call("ZRANGE", KEYS[3], 0, excess - 1)
  redis.call("ZREMRANGEBYRANK", KEYS[3], 0, excess - 1)
  redis.call("HDEL", KEYS[4], unpack(oldest))
end
return 1
