-- openbatch.lua: store several alerts in one atomic step (Store.OpenBatch).
-- The store prepends lua/audit.lua and then open.lua's body, unchanged, as
--   local function open_one(KEYS, ARGV) <open.lua> end
-- so each alert is opened by exactly the logic of a single Open, over its
-- own slice of this script's KEYS and ARGV, in order: an alert sees what
-- the alerts before it in the batch did (two alerts with one dedup key are
-- one incident and a repeat, as two requests would be).
-- ARGV[1] the number of alerts m; then for alert i (1..m) ARGV[2i] the number
-- of its KEYS and ARGV[2i+1] the number of its ARGV; then every alert's ARGV,
-- one alert after the other. KEYS are every alert's KEYS, one after the other.
-- All of them are under the {inc} hash tag, so the script is in one Cluster slot.
-- Returns one open.lua reply per alert, in order. An alert open.lua refuses
-- (the epoch marker changed) is the script's error; the epoch is the same
-- for every alert and checked before an alert writes anything, so the first
-- alert's refusal leaves nothing stored. The caller checked every alert
-- before the call (Store.OpenBatch), so no other refusal is possible.
local m = tonumber(ARGV[1])
local ko, ao = 0, 1 + 2 * m
local out = {}
for i = 1, m do
  local nk, na = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local k, a = {}, {}
  for j = 1, nk do k[j] = KEYS[ko + j] end
  for j = 1, na do a[j] = ARGV[ao + j] end
  ko, ao = ko + nk, ao + na
  local r = open_one(k, a)
  if type(r) == 'table' and r.err then return r end
  out[i] = r
end
return out
