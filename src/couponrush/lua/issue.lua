-- issue.lua: claim one coupon of an event for one user, atomically.
--
-- KEYS[1]  coupon:{E}:stock         string, coupons left
-- KEYS[2]  coupon:{E}:participants  hash, user_id -> "slot:issued_at_ms"
-- KEYS[3]  coupon:{E}:meta          hash, total / starts_at / ends_at (ms, "" = none) / name
-- KEYS[4]  coupon:{E}:outbox        stream, one entry per win
-- ARGV[1]  user_id
-- ARGV[2]  request_id
--
-- Replies (first element is the outcome):
--   {"NOT_FOUND"}                       no such event
--   {"DUPLICATE", slot, issued_at_ms}   the user already won; same coupon again
--   {"NOT_OPEN", starts_at_ms}          before the window
--   {"CLOSED", ends_at_ms}              after the window
--   {"SOLD_OUT"}                        no stock left
--   {"ISSUED", slot, issued_at_ms}      won: stock decremented, participant and outbox written
--
-- A winner is answered before the window and stock checks, so a retry of a win always
-- gets its coupon back, even after the event closed or sold out.

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
