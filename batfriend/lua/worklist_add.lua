-- Add work items unless their ids are already on the worklist (pending, leased or dead).
-- KEYS[1] due ZSET (id -> due time), KEYS[2] payloads HASH (id -> payload)
-- ARGV: id1, payload1, due1, id2, payload2, due2, ... (triples)
-- Returns the number of items added; an id already present keeps its payload and due time.
local added = 0
for i = 1, #ARGV, 3 do
  if redis.call("HSETNX", KEYS[2], ARGV[i], ARGV[i + 1]) == 1 then
    redis.call("ZADD", KEYS[1], ARGV[i + 2], ARGV[i])
    added = added + 1
  end
end
return added
