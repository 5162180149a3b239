-- Post one message to a lobby: members only. History past <cap> messages stays in Redis
-- until the archiver has moved it to SQL; the lobby is flagged for the archiver here.
-- KEYS[1] lobby info: HASH created_at, posted (messages ever posted), archived
-- KEYS[2] members: ZSET username -> last seen
-- KEYS[3] history: ZSET of message ids, every score 0, so ids sort by lex = time order
-- KEYS[4] bodies: HASH id -> stored Message (JSON, or msgpack before)
-- KEYS[5] overflowing: ZSET lobby name -> when its history first passed the cap
-- ARGV[1] username, ARGV[2] id, ARGV[3] stored Message, ARGV[4] now, ARGV[5] cap,
-- ARGV[6] lobby name
-- Returns 1 when posted, 0 when the poster is not a member, -1 when nobody ever joined.
if redis.call("EXISTS", KEYS[1]) == 0 then
  return -1
end
if not redis.call("ZSCORE", KEYS[2], ARGV[1]) then
  return 0
end
redis.call("ZADD", KEYS[2], "XX", "GT", ARGV[4], ARGV[1])
redis.call("ZADD", KEYS[3], 0, ARGV[2])
redis.call("HSET", KEYS[4], ARGV[2], ARGV[3])
redis.call("HINCRBY", KEYS[1], "posted", 1)
if redis.call("ZCARD", KEYS[3]) > tonumber(ARGV[5]) then
  redis.call("ZADD", KEYS[5], "NX", ARGV[4], ARGV[6])
end
return 1
