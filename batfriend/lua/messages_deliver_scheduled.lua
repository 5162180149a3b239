-- Deliver a scheduled message: move its record into the recipient's inbox, once, and
-- index the inbox for the archiver as messages_deliver.lua does (its id may be old).
-- Sender and recipient must still be friends when it falls due: otherwise the record
-- is dropped, so an ex-friend's stockpile of scheduled messages never arrives.
-- KEYS[1] the record: stored Message waiting for its deliver_at
-- KEYS[2] inbox: ZSET of message ids, every score 0 (as in messages_deliver.lua)
-- KEYS[3] bodies: HASH id -> stored Message (JSON, or msgpack before)
-- KEYS[4] unread: SET of the ids not read yet
-- KEYS[5] archive due: ZSET owner -> millisecond of the oldest message in the inbox
-- KEYS[6] the recipient's friends: ZSET username -> since
-- ARGV[1] the message id, ARGV[2] the recipient (the inbox's owner)
-- Returns 1 when delivered, 0 when there was nothing to deliver: no record (delivered
-- before, or never stored), or the id already in the inbox (the record is dropped);
-- -1 when sender and recipient are no longer friends (the record is dropped).
local blob = redis.call("GET", KEYS[1])
if not blob then
  return 0
end
redis.call("DEL", KEYS[1])
-- the record is JSON (Message.dump_stored), or msgpack when stored by an older version
local fields = string.sub(blob, 1, 1) == "{" and cjson.decode(blob) or cmsgpack.unpack(blob)
local sender = fields["sender"]
if type(sender) == "string" and not redis.call("ZSCORE", KEYS[6], sender) then
  return -1
end
if redis.call("ZADD", KEYS[2], "NX", 0, ARGV[1]) == 0 then
  return 0
end
redis.call("HSET", KEYS[3], ARGV[1], blob)
redis.call("SADD", KEYS[4], ARGV[1])
redis.call("ZADD", KEYS[5], "LT", string.sub(ARGV[1], 1, 13), ARGV[2])
return 1
