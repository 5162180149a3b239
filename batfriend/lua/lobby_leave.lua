-- Remove a member from a lobby. When the last member has left, the lobby keeps nothing
-- in Redis but what its history needs: with no history in Redis and none archived
-- (the info's "archived" watermark), its info goes too, as if nobody had ever joined.
-- KEYS[1] lobby info: HASH created_at, posted, archived
-- KEYS[2] members: ZSET username -> last seen
-- KEYS[3] history: ZSET of message ids
-- ARGV[1] username
-- Returns 1 when the lobby was removed, 0 otherwise.
redis.call("ZREM", KEYS[2], ARGV[1])
if redis.call("EXISTS", KEYS[2]) == 1 or redis.call("EXISTS", KEYS[3]) == 1 then
  return 0
end
if redis.call("HEXISTS", KEYS[1], "archived") == 1 then
  return 0
end
return redis.call("DEL", KEYS[1])
