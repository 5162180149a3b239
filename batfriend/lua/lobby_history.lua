-- Read one page of a lobby's history, newest first, refreshing the reader's presence;
-- members only.
-- KEYS[1] lobby info: HASH created_at, posted, archived (newest millisecond archived)
-- KEYS[2] members: ZSET username -> last seen
-- KEYS[3] history: ZSET of message ids, every score 0, so ids sort by lex = time order
-- KEYS[4] bodies: HASH id -> stored Message (JSON, or msgpack before)
-- ARGV[1] username, ARGV[2] now, ARGV[3] ZREVRANGEBYLEX upper bound: "+" for the
-- newest, or "(" .. cursor id, ARGV[4] page size (limit)
-- Returns {-1} when nobody ever joined, {0} when the reader is not a member, else
-- {1, up to limit + 1 ids (one more shows another page follows), the first limit
-- ids' stored bodies, the lobby's watermark (false when nothing was ever archived)}.
if redis.call("EXISTS", KEYS[1]) == 0 then
  return {-1}
end
if not redis.call("ZSCORE", KEYS[2], ARGV[1]) then
  return {0}
end
redis.call("ZADD", KEYS[2], "XX", "GT", ARGV[2], ARGV[1])
local limit = tonumber(ARGV[4])
local ids = redis.call("ZREVRANGEBYLEX", KEYS[3], ARGV[3], "-", "LIMIT", 0, limit + 1)
local archived = redis.call("HGET", KEYS[1], "archived")
local page = {unpack(ids, 1, math.min(#ids, limit))}
if #page == 0 then
  return {1, ids, {}, archived}
end
return {1, ids, redis.call("HMGET", KEYS[4], unpack(page)), archived}
