-- Deliver one message into an inbox, once: delivering the same id again changes nothing.
-- A send (six keys) first checks that the sender counts the recipient as a friend
-- and has a send left in its sliding window, and logs the send; a send with a future
-- deliver_at (seven keys) then stores the message to wait for its delivery instead
-- (not in the inbox, so not in the archive index yet: messages_deliver_scheduled.lua
-- indexes it when it arrives).
-- KEYS[1] inbox: ZSET of message ids, every score 0, so ids sort by lex = time order
-- KEYS[2] bodies: HASH id -> msgpack Message
-- KEYS[3] unread: SET of the ids not read yet
-- KEYS[4] archive due: ZSET owner -> millisecond of the oldest message in the inbox
-- KEYS[5] the sender's friends: ZSET username -> since (send only)
-- KEYS[6] the sender's send log: ZSET id -> sent at, within the last window (send only)
-- KEYS[7] the waiting message's record: msgpack Message (scheduled send only)
-- ARGV[1] id, ARGV[2] msgpack Message, ARGV[3] recipient (the inbox's owner)
-- ARGV[4] now, ARGV[5] sends allowed per window, ARGV[6] window in seconds (send only)
-- Returns {1, 0} delivered (or stored to wait), {0, 0} already delivered, {-1, 0} not friends,
-- {-2, ms} over the send limit, with ms until the oldest send leaves the window.
-- A send run again with the same id (a retry) is counted and stored once.
-- A send may check its sender's session too: ARGV[7] the sender, the last key the session
-- (after all of the above): {-3, 0} when it no longer names the sender, nothing written.
local nkeys = #KEYS
if ARGV[7] then
  if redis.call("GET", KEYS[nkeys]) ~= ARGV[7] then
    return {-3, 0}
  end
  nkeys = nkeys - 1
end
if nkeys >= 6 then
  if not redis.call("ZSCORE", KEYS[5], ARGV[3]) then
    return {-1, 0}
  end
  local now, window = tonumber(ARGV[4]), tonumber(ARGV[6])
  redis.call("ZREMRANGEBYSCORE", KEYS[6], "-inf", now - window)
  if not redis.call("ZSCORE", KEYS[6], ARGV[1]) then
    if redis.call("ZCARD", KEYS[6]) >= tonumber(ARGV[5]) then
      local oldest = redis.call("ZRANGE", KEYS[6], 0, 0, "WITHSCORES")
      return {-2, math.ceil((tonumber(oldest[2]) + window - now) * 1000)}
    end
    redis.call("ZADD", KEYS[6], now, ARGV[1])
    redis.call("PEXPIRE", KEYS[6], math.ceil(window * 1000))
  end
end
if nkeys == 7 then
  redis.call("SET", KEYS[7], ARGV[2], "NX")
  return {1, 0}
end
if redis.call("ZADD", KEYS[1], "NX", 0, ARGV[1]) == 0 then
  return {0, 0}
end
redis.call("HSET", KEYS[2], ARGV[1], ARGV[2])
redis.call("SADD", KEYS[3], ARGV[1])
redis.call("ZADD", KEYS[4], "LT", string.sub(ARGV[1], 1, 13), ARGV[3])
return {1, 0}
