-- Mark an SQS message as in progress, unless it is already in progress or done.
-- KEYS[1] the message's mark (absent, "running:<token>" or "done")
-- ARGV[1] this attempt's token, ARGV[2] milliseconds the in-progress mark lives
-- Returns "start" (marked: go ahead), "busy" (another attempt holds it) or "done".
local mark = redis.call("GET", KEYS[1])
if not mark then
  redis.call("SET", KEYS[1], "running:" .. ARGV[1], "PX", ARGV[2])
  return "start"
end
if mark == "done" then
  return "done"
end
return "busy"
