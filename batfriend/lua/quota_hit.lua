-- Count <cost> in a sliding window kept as buckets: allowed when the buckets that may
-- overlap the last <window> seconds hold, with the cost, at most <limit>. A bucket is
-- counted whole while any part of it is in the window, so no window ever holds more
-- than the limit (a request may be refused up to one bucket early).
-- KEYS[1] HASH bucket number (time // bucket) -> count; expires when all have left
-- ARGV[1] limit, ARGV[2] now (seconds), ARGV[3] window (s), ARGV[4] bucket (s), ARGV[5] cost
-- Returns {1, 0} counted, or {0, seconds until enough old buckets have left the window}.
local limit, now, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local size, cost = tonumber(ARGV[4]), tonumber(ARGV[5])
local oldest = math.floor((now - window) / size)
local fields = redis.call("HGETALL", KEYS[1])
local buckets, total = {}, 0
for i = 1, #fields, 2 do
  local bucket, count = tonumber(fields[i]), tonumber(fields[i + 1])
  if bucket < oldest then
    redis.call("HDEL", KEYS[1], fields[i])
  else
    table.insert(buckets, {bucket, count})
    total = total + count
  end
end
if total + cost > limit then
  table.sort(buckets, function(a, b) return a[1] < b[1] end)
  local wait = size
  for _, bucket in ipairs(buckets) do
    total = total - bucket[2]
    wait = (bucket[1] + 1) * size + window - now
    if total + cost <= limit then
      break
    end
  end
  return {0, math.max(1, math.ceil(wait))}
end
redis.call("HINCRBY", KEYS[1], math.floor(now / size), cost)
redis.call("EXPIRE", KEYS[1], math.ceil(window + size))
return {1, 0}
