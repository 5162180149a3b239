-- Bring <owner>'s side of the link with <other> to the state a change stamped <stamp> set
-- on <other>'s side (friends_change.lua), unless this side already holds that change or a
-- later one: applying a change twice, or late, changes nothing. All in <owner>'s bucket.
-- KEYS[1] owner's friends, KEYS[2] owner's incoming requests, KEYS[3] owner's outgoing
-- requests, KEYS[4] owner's pairs: HASH name -> stamp of the last change applied
-- ARGV[1] other, ARGV[2] stamp (compared as text: friends_change.lua), ARGV[3] state: "friends", "asked_by" (other asked owner)
-- or "none", ARGV[4] when the change was made (seconds)
-- Returns "applied" or "stale".
local friends, incoming, outgoing, pairs = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local other, stamp, state, at = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local seen = redis.call("HGET", pairs, other)
if seen and seen >= stamp then
  return "stale"
end
redis.call("ZREM", outgoing, other)
if state == "friends" then
  redis.call("ZREM", incoming, other)
  redis.call("ZADD", friends, "NX", at, other)
elseif state == "asked_by" then
  redis.call("ZREM", friends, other)
  redis.call("ZADD", incoming, "NX", at, other)
else
  redis.call("ZREM", incoming, other)
  redis.call("ZREM", friends, other)
end
redis.call("HSET", pairs, other, stamp)
return "applied"
