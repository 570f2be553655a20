-- viewed.lua: record that someone read an incident's sealed raw payloads.
-- KEYS[1] the incident hash  KEYS[2] its timeline  KEYS[3] events stream
-- ARGV: 1 incident number, 2 now ms, 3 by, 4 note, 5 audit retention ms, 6 audit max entries
-- Returns 1, or 0 when the incident does not exist (nothing written).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
local now = tonumber(ARGV[2])
redis.call('RPUSH', KEYS[2], cjson.encode({type = 'raw_viewed', at = now, by = ARGV[3], note = ARGV[4]}))
local service = redis.call('HGET', KEYS[1], 'service') or ''
audit_with(KEYS[3], ARGV[5], ARGV[6], 'type', 'raw_viewed', 'n', ARGV[1], 'at', now, 'by', ARGV[3], 'service', service)
return 1
