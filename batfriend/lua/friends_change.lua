-- Change <me>'s side of the link between <me> and <them>, all in <me>'s bucket, and queue
-- the repair item that brings <them>'s side along (friends_side.lua) even after a crash.
-- Each change carries a stamp, greater than any this side saw for the pair, so the two
-- sides converge on the latest change whatever order the steps run in: 17 digits, then
-- ":" and the changing agent, so two changes of one instant are ordered by name.
-- KEYS[1] me's friends, KEYS[2] me's incoming requests, KEYS[3] me's outgoing requests
--   (friends: ZSET name -> since; requests: ZSET name -> asked at)
-- KEYS[4] me's pairs: HASH name -> stamp of the last change applied for that pair
-- KEYS[5] the friends repair worklist's due ZSET, KEYS[6] its payloads HASH (me's bucket)
-- ARGV[1] me, ARGV[2] them, ARGV[3] now (seconds), ARGV[4] "request", "accept" or "remove",
-- ARGV[5] a fresh stamp (an integer), ARGV[6] seconds until the repair item is due,
-- ARGV[7] most friends an agent may have, ARGV[8] most pending outgoing requests,
-- ARGV[9] how many friends <them> had just before (read from <them>'s bucket)
-- Returns {outcome, repair item id, them's new state, the change's stamp}, the outcome one
-- of "friends" (already friends, or made friends now), "requested", "removed", "none" (an
-- accept with nothing pending), "friend_limit" (either side has the most friends allowed)
-- or "request_limit" (<me> has the most requests pending). With no item id ("") nothing
-- was written.
local friends, incoming, outgoing, pairs = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local due, payloads = KEYS[5], KEYS[6]
local me, them, now, mode, delay = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[6])
local most_friends, most_requests, theirs = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local befriended = redis.call("ZSCORE", friends, them)
local state
if mode == "remove" then
  state = "none"
elseif befriended then
  return {"friends", "", "", ""}
elseif redis.call("ZSCORE", incoming, them) then
  if redis.call("ZCARD", friends) >= most_friends or theirs >= most_friends then
    return {"friend_limit", "", "", ""}
  end
  state = "friends"
elseif mode == "accept" then
  return {"none", "", "", ""}
elseif redis.call("ZSCORE", outgoing, them) then
  return {"requested", "", "", ""}
elseif redis.call("ZCARD", outgoing) >= most_requests then
  return {"request_limit", "", "", ""}
else
  state = "asked"
end
local seen = redis.call("HGET", pairs, them)
local stamp = math.max(tonumber(ARGV[5]), (seen and tonumber(string.sub(seen, 1, 17)) or 0) + 1)
local stamp_text = string.format("%017.0f", stamp) .. ":" .. me
redis.call("ZREM", incoming, them)
if state == "friends" then
  redis.call("ZREM", outgoing, them)
  redis.call("ZADD", friends, now, them)
elseif state == "asked" then
  redis.call("ZADD", outgoing, "NX", now, them)
else
  redis.call("ZREM", outgoing, them)
  redis.call("ZREM", friends, them)
end
redis.call("HSET", pairs, them, stamp_text)
local theirs = ({friends = "friends", asked = "asked_by", none = "none"})[state]
local id = them .. "<" .. stamp_text
redis.call("HSET", payloads, id, cjson.encode({them, me, stamp_text, theirs, now}))
redis.call("ZADD", due, tonumber(now) + delay, id)
local outcome = ({friends = "friends", asked = "requested", none = "removed"})[state]
return {outcome, id, theirs, stamp_text}
