-- Drop an in-progress mark after a failed attempt, if it is still this attempt's.
-- KEYS[1] the message's mark
-- ARGV[1] the failed attempt's token
-- Returns 1 if the mark was dropped, 0 if it belongs to someone else or is gone.
if redis.call("GET", KEYS[1]) == "running:" .. ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0
