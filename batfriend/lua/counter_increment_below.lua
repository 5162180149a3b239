-- Add one to a count unless it has reached a limit, in one step (no WATCH, no retries).
-- KEYS[1] the count
-- ARGV[1] the limit
-- Returns 1 when it added one, 0 when the count had reached the limit.
if tonumber(redis.call("GET", KEYS[1]) or "0") >= tonumber(ARGV[1]) then
  return 0
end
redis.call("INCR", KEYS[1])
return 1
