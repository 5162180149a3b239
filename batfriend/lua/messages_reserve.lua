-- Reserve a send on its sender's side, all in the sender's bucket: the sender must count
-- the recipient as a friend and have a send left in its sliding window; the send is logged.
-- A scheduled send (five keys before a session key) also stores the message to wait and
-- adds its delivery item, so a waiting message always has its item (or its repair sweep).
-- KEYS[1] the sender's friends: ZSET username -> since
-- KEYS[2] the sender's send log: ZSET id -> sent at, within the last window
-- KEYS[3] the waiting message's record: stored Message (scheduled send only)
-- KEYS[4] the delivery worklist's due ZSET, KEYS[5] its payloads HASH (scheduled send only)
-- KEYS[#KEYS] the sender's session, when ARGV[6] is not empty (a single Redis only)
-- ARGV[1] id, ARGV[2] recipient, ARGV[3] now, ARGV[4] sends allowed per window,
-- ARGV[5] window in seconds, ARGV[6] the sender when its session is checked here, else ""
-- ARGV[7] stored Message (JSON), ARGV[8] deliver_at, ARGV[9] delivery payload (scheduled only)
-- Returns {"reserved", 0} (or {"scheduled", 0}: stored to wait), {"not_friends", 0},
-- {"rate_limited", ms until the oldest send leaves the window} or {"session_gone", 0};
-- only the first two change anything. A retry with the same id is counted and stored once.
local friends, sent, record, due, payloads = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, recipient, now, allowed = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local window, checked_sender, blob = tonumber(ARGV[5]), ARGV[6], ARGV[7]
if checked_sender ~= "" and redis.call("GET", KEYS[#KEYS]) ~= checked_sender then
  return {"session_gone", 0}
end
if not redis.call("ZSCORE", friends, recipient) then
  return {"not_friends", 0}
end
redis.call("ZREMRANGEBYSCORE", sent, "-inf", now - window)
-- logged first, taken back if over the limit: one call fewer on the common path
if redis.call("ZADD", sent, "NX", now, id) == 1 then
  if redis.call("ZCARD", sent) > allowed then
    redis.call("ZREM", sent, id)
    local oldest = redis.call("ZRANGE", sent, 0, 0, "WITHSCORES")
    return {"rate_limited", math.ceil((tonumber(oldest[2]) + window - now) * 1000)}
  end
  redis.call("PEXPIRE", sent, math.ceil(window * 1000))
end
if not blob then
  return {"reserved", 0}
end
redis.call("SET", record, blob, "NX")
if redis.call("HSETNX", payloads, id, ARGV[9]) == 1 then
  redis.call("ZADD", due, ARGV[8], id)
end
return {"scheduled", 0}
