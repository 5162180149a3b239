-- Replace a scheduled message's record, only if it still holds what the caller read.
-- KEYS[1] the record: stored Message waiting for its deliver_at
-- ARGV[1] the record as the caller read it, ARGV[2] its replacement
-- Returns 1 when replaced, 0 when the record changed or was delivered meanwhile.
if redis.call("GET", KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call("SET", KEYS[1], ARGV[2])
return 1
