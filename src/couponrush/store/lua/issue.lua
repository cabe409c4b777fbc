-- issue.lua: claim one coupon of an event for one user, atomically.
--
-- KEYS[1]  coupon:{E}:stock         string, coupons left
-- KEYS[2]  coupon:{E}:participants  hash, user_id -> "slot:issued_at_ms"
-- KEYS[3]  coupon:{E}:meta          hash, total / starts_at / ends_at (ms, "" = none) / name
-- KEYS[4]  coupon:{E}:outbox        stream, one entry per win
-- KEYS[5]  coupon:{E}:bucket:<user>  hash, the user's token bucket (tokens, ts); expires
-- ARGV[1]  user_id
-- ARGV[2]  request_id
-- ARGV[3]  token bucket rate, tokens per second ("0" = no per-user limit)
-- ARGV[4]  token bucket burst (capacity)
--
-- Replies (first element is the outcome):
--   {"NOT_FOUND"}                       no such event
--   {"DUPLICATE", slot, issued_at_ms}   the user already won; same coupon again
--   {"RATE_LIMITED", retry_after_ms}    this user is over its token bucket
--   {"NOT_OPEN", starts_at_ms}          before the window
--   {"CLOSED", ends_at_ms}              after the window
--   {"SOLD_OUT"}                        no stock left
--   {"ISSUED", slot, issued_at_ms}      won: stock decremented, participant and outbox written
--
-- A winner is answered before the bucket, window and stock checks, so a retry of a win
-- always gets its coupon back, even after the event closed or sold out. The bucket is
-- the only key that expires: it is throw-away state, and an expired bucket is a full one.

local meta = redis.call('HMGET', KEYS[3], 'total', 'starts_at', 'ends_at')
local total = tonumber(meta[1])
if not total then
  return {'NOT_FOUND'}
end

local prior = redis.call('HGET', KEYS[2], ARGV[1])
if prior then
  local sep = string.find(prior, ':', 1, true)
  return {'DUPLICATE', tonumber(string.sub(prior, 1, sep - 1)), tonumber(string.sub(prior, sep + 1))}
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local rate = tonumber(ARGV[3])
if rate > 0 then
  local burst = tonumber(ARGV[4])
  local bucket = redis.call('HMGET', KEYS[5], 'tokens', 'ts')
  local tokens = tonumber(bucket[1]) or burst
  local since = now - (tonumber(bucket[2]) or now)
  tokens = math.min(burst, tokens + since * rate / 1000)
  if tokens < 1 then
    return {'RATE_LIMITED', math.ceil((1 - tokens) * 1000 / rate)}
  end
  redis.call('HSET', KEYS[5], 'tokens', tokens - 1, 'ts', now)
  redis.call('PEXPIRE', KEYS[5], math.ceil(burst * 1000 / rate) + 1000)
end
local starts_at = tonumber(meta[2])
if starts_at and now < starts_at then
  return {'NOT_OPEN', starts_at}
end
local ends_at = tonumber(meta[3])
if ends_at and now >= ends_at then
  return {'CLOSED', ends_at}
end

if tonumber(redis.call('GET', KEYS[1]) or '0') <= 0 then
  return {'SOLD_OUT'}
end

local left = redis.call('DECR', KEYS[1])
local slot = total - left
redis.call('HSET', KEYS[2], ARGV[1], slot .. ':' .. now)
redis.call('XADD', KEYS[4], '*',
  'user_id', ARGV[1], 'slot', slot, 'issued_at', now, 'request_id', ARGV[2])
return {'ISSUED', slot, now}
