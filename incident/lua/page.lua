-- page.lua: record one page's delivery, for the escalation step that decided it.
-- KEYS[1] the incident's page record (hash i:<n>:pg)
-- ARGV: 1 the step's rev, 2 page key, 3 op, 4 ttl ms, 5 now ms (for "begin")
--   op "begin":  mark the page "sending" unless something is recorded for it
--   op "sent":   mark it "sent"
--   op "forget": remove a "sending" mark (the send certainly did not happen)
-- The hash holds the marks of one revision only (its field "#rev"; page keys
-- start with "INC-"): a step at a later revision replaces them, since a
-- committed or refused step's keys never come back; a step at an earlier
-- revision is stale and writes nothing. The hash expires ttl after its last
-- write. Its field "#at" is when the earliest page of the step that is
-- still marked (sending or sent) began: a run that takes the step over
-- decides it as of then, so the schedule counts from the real delivery.
-- Returns the mark recorded before: '' (none), 'sending', 'sent', or 'stale'.
local rev = tonumber(ARGV[1])
local cur = tonumber(redis.call('HGET', KEYS[1], '#rev') or '-1')
if cur > rev then
  return 'stale'
end
if cur < rev then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], '#rev', ARGV[1])
end
local prev = redis.call('HGET', KEYS[1], ARGV[2]) or ''
local op = ARGV[3]
if op == 'begin' then
  if prev == '' then
    redis.call('HSET', KEYS[1], ARGV[2], 'sending')
    redis.call('HSETNX', KEYS[1], '#at', ARGV[5])
  end
elseif op == 'sent' then
  redis.call('HSET', KEYS[1], ARGV[2], 'sent')
elseif op == 'forget' then
  if prev == 'sending' then
    redis.call('HDEL', KEYS[1], ARGV[2])
    -- No page of the step marked any more: it has not begun.
    local left = redis.call('HLEN', KEYS[1]) - 1
    if redis.call('HEXISTS', KEYS[1], '#at') == 1 then
      left = left - 1
    end
    if left == 0 then
      redis.call('HDEL', KEYS[1], '#at')
    end
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return prev
