-- expire.lua: end now the leases that a replica's previous run held, so that
-- the next claim (by any replica) takes their jobs back at once, urgent, as
-- it does any lease that ran out (claim.lua).
-- KEYS[1] leases hash (member -> token)  KEYS[2] page in-flight zset  KEYS[3] chat in-flight zset
-- ARGV: 1 token prefix ("<replica id>:"), 2 now ms
-- Returns how many leases it ended. The leases hash holds one entry per job
-- in flight (workers × replicas), so reading it whole is cheap.
local prefix = ARGV[1]
local n = 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local m, tok = all[i], all[i + 1]
  if string.sub(tok, 1, #prefix) == prefix then
    for k = 2, 3 do
      if redis.call('ZSCORE', KEYS[k], m) then
        redis.call('ZADD', KEYS[k], 'XX', ARGV[2], m)
        n = n + 1
      end
    end
  end
end
return n
