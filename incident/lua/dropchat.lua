-- dropchat.lua: drop due chat jobs, for a runner with no chat to keep up to date.
-- KEYS[1] chat queue zset (member -> due ms)  KEYS[2] chat in-flight zset (member -> lease deadline ms)
-- KEYS[3] holds hash (member -> ms before which it is not claimed)
-- ARGV: 1 now ms, 2 max jobs to look at
-- Returns {dropped, more}: how many were dropped, and 1 when max due jobs were
-- looked at (more may be due), else 0.
--
-- The same rules as claim.lua's for an exclusive queue, without the claim: a
-- member in flight (another replica, one with a chat, runs it) moves to its
-- lease deadline, and a held one to its hold's end, as a claim would; the
-- rest are removed, as a claim and a release without a due time would. Every
-- member looked at leaves the due range, so a caller looping while more is 1
-- ends.
local now = tonumber(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local holds = redis.call('HLEN', KEYS[3]) > 0
local dropped = 0
for _, m in ipairs(due) do
  local held = redis.call('ZSCORE', KEYS[2], m)
  local hold = holds and tonumber(redis.call('HGET', KEYS[3], m) or '')
  if held and tonumber(held) > now then
    redis.call('ZADD', KEYS[1], held, m)
  elseif hold and hold > now then
    redis.call('ZADD', KEYS[1], hold, m)
  else
    if hold then
      redis.call('HDEL', KEYS[3], m)
    end
    redis.call('ZREM', KEYS[1], m)
    dropped = dropped + 1
  end
end
local more = 0
if #due == tonumber(ARGV[2]) then
  more = 1
end
return {dropped, more}
