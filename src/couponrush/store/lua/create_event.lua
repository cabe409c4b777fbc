-- create_event.lua: set up one event's keys, or refuse if any of them exists.
--
-- KEYS[1]  coupon:{E}:stock
-- KEYS[2]  coupon:{E}:participants
-- KEYS[3]  coupon:{E}:meta
-- KEYS[4]  coupon:{E}:outbox
-- ARGV[1]  total stock (integer >= 1)
-- ARGV[2]  starts_at, ms since the epoch ("" = open now)
-- ARGV[3]  ends_at, ms since the epoch ("" = never closes)
-- ARGV[4]  name
-- ARGV[5]  created_at, ms since the epoch
-- ARGV[6..12]  optional: the opening (core.event.opening_meta, in its order: opening,
--          prequeue_opens_at, admit_wave, admit_every_ms, proof_bits, seed, commitment);
--          "" each for a first-come-first-served event
--
-- Replies: "CREATED", or "EXISTS" when any key of the event is already there.
-- No key gets a TTL: an expiring stock or participants key would silently re-open a
-- sold-out event.

for i = 1, 4 do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    return 'EXISTS'
  end
end

redis.call('HSET', KEYS[3],
  'total', ARGV[1], 'starts_at', ARGV[2], 'ends_at', ARGV[3],
  'name', ARGV[4], 'created_at', ARGV[5])
if #ARGV >= 12 then
  redis.call('HSET', KEYS[3],
    'opening', ARGV[6], 'prequeue_opens_at', ARGV[7], 'admit_wave', ARGV[8],
    'admit_every_ms', ARGV[9], 'proof_bits', ARGV[10], 'seed', ARGV[11],
    'commitment', ARGV[12])
end
redis.call('SET', KEYS[1], ARGV[1])
return 'CREATED'
