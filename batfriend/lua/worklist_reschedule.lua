-- Give a pending item a new due time (expedite or postpone); leased and dead items are left alone.
-- KEYS[1] due ZSET (id -> due time)
-- ARGV[1] id, ARGV[2] new due time
-- Returns 1 if the item was pending and now has the new due time, 0 if it is not pending.
if not redis.call("ZSCORE", KEYS[1], ARGV[1]) then
  return 0
end
redis.call("ZADD", KEYS[1], ARGV[2], ARGV[1])
return 1
