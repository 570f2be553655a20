-- audit.lua: prepended to every script that writes the audit stream
-- (open.lua, transition.lua, commit.lua; see incident/store.go), so the
-- stream's trimming is written once. Defines audit_with(stream, max age ms,
-- max entries, field, value, ...).
-- The audit stream is trimmed as it grows: entries older than the
-- retention (by the server's clock, the clock of the stream's '*' ids) and
-- beyond the newest max entries go. '~' trims whole nodes only, so it is
-- cheap, and may keep up to one node (stream-node-max-entries) more.
local function audit_with(stream, max_age_ms, max_entries, ...)
  local t = redis.call('TIME')
  local minid = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(max_age_ms)
  if minid < 0 then minid = 0 end
  redis.call('XADD', stream, 'MINID', '~', string.format('%d', minid), '*', ...)
  redis.call('XTRIM', stream, 'MAXLEN', '~', max_entries)
end
