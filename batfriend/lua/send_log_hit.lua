-- Count one send that is not a message (a lobby post) in the sender's sliding window,
-- the same window messages_reserve.lua counts messages in, so both share one limit.
-- KEYS[1] the sender's send log: ZSET id -> sent at, within the last window
-- ARGV[1] id, ARGV[2] now, ARGV[3] sends allowed per window, ARGV[4] window in seconds
-- Returns {1, 0} counted (a retry with the same id is counted once), or {-2, ms} over
-- the limit, with ms until the oldest send leaves the window.
local now, window = tonumber(ARGV[2]), tonumber(ARGV[4])
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now - window)
if redis.call("ZSCORE", KEYS[1], ARGV[1]) then
  return {1, 0}
end
if redis.call("ZCARD", KEYS[1]) >= tonumber(ARGV[3]) then
  local oldest = redis.call("ZRANGE", KEYS[1], 0, 0, "WITHSCORES")
  return {-2, math.ceil((tonumber(oldest[2]) + window - now) * 1000)}
end
redis.call("ZADD", KEYS[1], now, ARGV[1])
redis.call("PEXPIRE", KEYS[1], math.ceil(window * 1000))
return {1, 0}
