-- Create an agent unless its username is taken, and index it, in one step.
-- KEYS[1] agent hash (agent:<username>)
-- KEYS[2] index of every username, a ZSET scored by creation time (agent::index)
-- ARGV[1] username, ARGV[2] display name, ARGV[3] password hash, ARGV[4] created_at
-- Returns 1 when created, 0 when the username was already taken.
if redis.call("EXISTS", KEYS[1]) == 1 then
  return 0
end
redis.call("HSET", KEYS[1], "username", ARGV[1], "display_name", ARGV[2],
           "password", ARGV[3], "created_at", ARGV[4])
redis.call("ZADD", KEYS[2], ARGV[4], ARGV[1])
return 1
