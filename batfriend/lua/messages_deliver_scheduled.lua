-- Deliver a scheduled message: move its record into the recipient's inbox, once.
-- KEYS[1] the record: msgpack Message waiting for its deliver_at
-- KEYS[2] inbox: ZSET of message ids, every score 0 (as in messages_deliver.lua)
-- KEYS[3] bodies: HASH id -> msgpack Message
-- KEYS[4] unread: SET of the ids not read yet
-- ARGV[1] the message id
-- Returns 1 when delivered, 0 when there was nothing to deliver: no record (delivered
-- before, or never stored), or the id already in the inbox (the record is dropped).
local blob = redis.call("GET", KEYS[1])
if not blob then
  return 0
end
redis.call("DEL", KEYS[1])
if redis.call("ZADD", KEYS[2], "NX", 0, ARGV[1]) == 0 then
  return 0
end
redis.call("HSET", KEYS[3], ARGV[1], blob)
redis.call("SADD", KEYS[4], ARGV[1])
return 1
