-- Count one hit in a fixed window and say whether it is within the limit.
-- KEYS[1] the window's counter (expires with the window)
-- ARGV[1] limit (hits allowed per window), ARGV[2] window length in milliseconds
-- Returns {allowed (1 or 0), milliseconds until the window ends}.
local count = redis.call("INCR", KEYS[1])
if count == 1 then
  redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
local remaining = redis.call("PTTL", KEYS[1])
if remaining < 0 then
  redis.call("PEXPIRE", KEYS[1], ARGV[2])
  remaining = tonumber(ARGV[2])
end
if count > tonumber(ARGV[1]) then
  return {0, remaining}
end
return {1, remaining}
