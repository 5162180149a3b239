-- Give back <cost> hits counted in the current window (a reserved attempt that did not
-- happen, or succeeded); a window that has ended is left ended.
-- KEYS[1] the window's counter, ARGV[1] cost
-- Returns the count left, or 0 when there was no window.
if redis.call("EXISTS", KEYS[1]) == 0 then
  return 0
end
local count = redis.call("DECRBY", KEYS[1], ARGV[1])
if count < 0 then
  redis.call("SET", KEYS[1], 0, "KEEPTTL")
  return 0
end
return count
