-- Deliver one message into an inbox, once: delivering the same id again changes nothing.
-- With a sender (five keys), the recipient must still count the sender as a friend:
-- its own copy of the friendship, in its own bucket (the sender's copy was checked when
-- the send was reserved, messages_reserve.lua).
-- KEYS[1] inbox: ZSET of message ids, every score 0, so ids sort by lex = time order
-- KEYS[2] bodies: HASH id -> stored Message (JSON, or msgpack before)
-- KEYS[3] unread: SET of the ids not read yet
-- KEYS[4] the bucket's archive index: ZSET owner -> millisecond of its oldest message
-- KEYS[5] the recipient's friends: ZSET username -> since (a message with a sender only)
-- KEYS[6] the sender's send log (optional, a single Redis only): deliver only if it holds
--         the id, i.e. only if the reservation queued just before in the same round trip
--         (messages_reserve.lua) succeeded
-- ARGV[1] id, ARGV[2] stored Message, ARGV[3] recipient (the inbox's owner),
-- ARGV[4] the sender (a message with a sender only)
-- Returns "delivered", "duplicate" (already in the inbox), "not_friends" or "not_reserved"
-- (the last two write nothing).
local inbox, bodies, unread, archive_due, friends = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, blob, owner, sender = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if KEYS[6] and not redis.call("ZSCORE", KEYS[6], id) then
  return "not_reserved"
end
if sender and not redis.call("ZSCORE", friends, sender) then
  return "not_friends"
end
if redis.call("ZADD", inbox, "NX", 0, id) == 0 then
  return "duplicate"
end
redis.call("HSET", bodies, id, blob)
redis.call("SADD", unread, id)
redis.call("ZADD", archive_due, "LT", string.sub(id, 1, 13), owner)
return "delivered"
