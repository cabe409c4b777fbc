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
redis.call('SET', KEYS[1], ARGV[1])
return 'CREATED'
