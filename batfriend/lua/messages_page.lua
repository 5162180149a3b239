-- Read one page of an inbox, newest first, with the unread count, in one step.
-- KEYS[1] inbox: ZSET of message ids, every score 0, so ids sort by lex = time order
-- KEYS[2] bodies: HASH id -> stored Message (JSON, or msgpack before)
-- KEYS[3] unread: SET of the ids not read yet (archived ones included)
-- KEYS[4] archive watermarks: ZSET owner -> newest millisecond archived from that inbox
-- ARGV[1] ZREVRANGEBYLEX upper bound: "+" for the newest, or "(" .. cursor id
-- ARGV[2] page size (limit), ARGV[3] the inbox's owner
-- Returns {unread count, up to limit + 1 ids (one more shows another page follows),
-- the first limit ids' stored bodies, their unread flags (1 or 0), and the
-- inbox's watermark (false when nothing was ever archived)}.
local limit = tonumber(ARGV[2])
local ids = redis.call("ZREVRANGEBYLEX", KEYS[1], ARGV[1], "-", "LIMIT", 0, limit + 1)
local unread = redis.call("SCARD", KEYS[3])
local archived = redis.call("ZSCORE", KEYS[4], ARGV[3])
local page = {unpack(ids, 1, math.min(#ids, limit))}
if #page == 0 then
  return {unread, ids, {}, {}, archived}
end
return {unread, ids, redis.call("HMGET", KEYS[2], unpack(page)),
        redis.call("SMISMEMBER", KEYS[3], unpack(page)), archived}
