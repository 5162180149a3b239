-- Accept <them>'s pending request to <me>, making both friends in one step; or,
-- when ARGV[4] is "request" and nothing is pending, file <me>'s request to <them>.
-- KEYS[1] me's friends, KEYS[2] me's incoming requests, KEYS[3] me's outgoing requests
-- KEYS[4] them's friends, KEYS[5] them's incoming requests, KEYS[6] them's outgoing requests
--   (friends: ZSET name -> since; requests: ZSET name -> asked at)
-- ARGV[1] me, ARGV[2] them, ARGV[3] now, ARGV[4] "request" or "accept",
-- ARGV[5] most friends an agent may have, ARGV[6] most pending outgoing requests
-- Returns "friends" (already friends, or made friends now), "requested", "none"
-- (an accept with nothing pending), "friend_limit" (either side has the most friends
-- allowed; nothing changes) or "request_limit" (me has the most pending requests).
local me, them, now = ARGV[1], ARGV[2], ARGV[3]
local most_friends, most_requests = tonumber(ARGV[5]), tonumber(ARGV[6])
if redis.call("ZSCORE", KEYS[1], them) then
  return "friends"
end
if redis.call("ZSCORE", KEYS[2], them) then
  if redis.call("ZCARD", KEYS[1]) >= most_friends or redis.call("ZCARD", KEYS[4]) >= most_friends then
    return "friend_limit"
  end
  redis.call("ZREM", KEYS[2], them)
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
if redis.call("ZSCORE", KEYS[3], them) then
  return "requested"
end
if redis.call("ZCARD", KEYS[3]) >= most_requests then
  return "request_limit"
end
redis.call("ZADD", KEYS[3], "NX", now, them)
redis.call("ZADD", KEYS[5], "NX", now, me)
return "requested"
