-- Accept <them>'s pending request to <me>, making both friends in one step; or,
-- when ARGV[4] is "request" and nothing is pending, file <me>'s request to <them>.
-- KEYS[1] me's friends, KEYS[2] me's incoming requests, KEYS[3] me's outgoing requests
-- KEYS[4] them's friends, KEYS[5] them's incoming requests, KEYS[6] them's outgoing requests
--   (friends: ZSET name -> since; requests: ZSET name -> asked at)
-- ARGV[1] me, ARGV[2] them, ARGV[3] now, ARGV[4] "request" or "accept"
-- Returns "friends" (already friends, or made friends now), "requested", or "none"
-- (an accept with nothing pending).
local me, them, now = ARGV[1], ARGV[2], ARGV[3]
if redis.call("ZSCORE", KEYS[1], them) then
  return "friends"
end
if redis.call("ZREM", KEYS[2], them) == 1 then
  redis.call("ZREM", KEYS[3], them)
  redis.call("ZREM", KEYS[5], me)
  redis.call("ZREM", KEYS[6], me)
  redis.call("ZADD", KEYS[1], now, them)
  redis.call("ZADD", KEYS[4], now, me)
  return "friends"
end
if ARGV[4] ~= "request" then
  return "none"
end
redis.call("ZADD", KEYS[3], "NX", now, them)
redis.call("ZADD", KEYS[5], "NX", now, me)
return "requested"
