-- Count <cost> hits in a fixed window, unless they would pass the limit.
-- KEYS[1] the window's counter (expires with the window)
-- ARGV[1] limit (hits allowed per window), ARGV[2] window length in milliseconds,
-- ARGV[3] cost: how many hits this is, default 1 (a batch of look-ups counts each one)
-- Returns {allowed (1 or 0), milliseconds until the window ends}. A refused request
-- counts nothing, so it never uses up what a smaller request could still have.
local limit, window, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3] or "1")
local count = tonumber(redis.call("GET", KEYS[1]) or "0")
if count + cost > limit then
  local remaining = redis.call("PTTL", KEYS[1])
  return {0, remaining > 0 and remaining or window}
end
if redis.call("INCRBY", KEYS[1], cost) == cost then
  redis.call("PEXPIRE", KEYS[1], window)
end
local remaining = redis.call("PTTL", KEYS[1])
if remaining < 0 then
  redis.call("PEXPIRE", KEYS[1], window)
  remaining = window
end
return {1, remaining}
