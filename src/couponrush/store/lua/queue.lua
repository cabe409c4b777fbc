-- queue.lua: a shuffled opening's queue (docs/fair-opening.md): join it, or read a place in
-- it, atomically with respect to issue.lua (which admits from the same queue).
--
-- KEYS[1]  coupon:{E}:stock
-- KEYS[2]  coupon:{E}:participants   hash, the winners
-- KEYS[3]  coupon:{E}:meta           hash, the window and the opening's fields
-- KEYS[4]  coupon:{E}:outbox         (unused; issue.lua's KEYS order)
-- KEYS[5]  coupon:{E}:queue          sorted set: the pre-queue (score 0, member
--                                    "order_key:ticket", so in the shuffled order), then
--                                    whoever joined after the opening (score: its arrival
--                                    number, member: its ticket)
-- KEYS[6]  coupon:{E}:queue:users    hash, user_id -> its member of the queue
-- ARGV[1]  "join", or "place" (ARGV[2] "" : the queue's state only)
-- ARGV[2]  user_id
-- ARGV[3]  join: the user's pre-queue member (order_key:ticket, from the secret seed)
-- ARGV[4]  join: the user's ticket (its member after the opening)
-- ARGV[5]  join: the proof-of-work nonce ("" = none)
--
-- Replies: {"NOT_FOUND"}, {"NO_QUEUE"} (first come, first served), else
--   {outcome, position, size, now_ms, total, stock, starts_at, ends_at, created_at,
--    prequeue_opens_at, admit_wave, admit_every_ms, proof_bits, commitment, seed}
-- with position the user's place (1-based; 0: not in the queue), size the queue's length,
-- the times in ms ("" = none), and outcome one of:
--   JOINED     enrolled now (in the pre-queue before the opening, at the end after it)
--   ALREADY    (join) enrolled before: the same place; a refresh never moves anyone
--   PLACED     (place) in the queue
--   ABSENT     (place) not in the queue
--   WON        the user won a coupon (the queue is behind it)
--   SOLD_OUT   no stock left: the queue is closed, nobody joins or waits any more
--   CLOSED     the sale's window is over
--   NOT_OPEN   (join) before prequeue_opens_at
--   BAD_PROOF  (join) the event wants a proof of work and this nonce is not one
--   STATE      (place with no user) the state alone
-- The seed is for the app (it builds the pre-queue members from it); the app reveals it
-- only from the opening on.

local F = {'total', 'starts_at', 'ends_at', 'created_at', 'prequeue_opens_at', 'admit_wave',
  'admit_every_ms', 'proof_bits', 'commitment', 'seed', 'opening'}
local m = redis.call('HMGET', KEYS[3], unpack(F))
if not m[1] then
  return {'NOT_FOUND'}
end
if m[11] ~= 'shuffled' then
  return {'NO_QUEUE'}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local stock = tonumber(redis.call('GET', KEYS[1]) or '0')
local user = ARGV[2]

local function reply(outcome, member)
  local position = member and (redis.call('ZRANK', KEYS[5], member) + 1) or 0
  local r = {outcome, position, redis.call('ZCARD', KEYS[5]), now, m[1], stock}
  for i = 2, 10 do
    r[#r + 1] = m[i] or ''
  end
  return r
end

-- Hashcash: SHA-1 of "commitment:user:nonce" starts with at least `bits` zero bits.
local function proven(nonce, bits)
  local hex = redis.sha1hex((m[9] or '') .. ':' .. user .. ':' .. nonce)
  local zeros = 0
  for i = 1, #hex do
    local d = tonumber(string.sub(hex, i, i), 16)
    if d > 0 then
      zeros = zeros + (d < 2 and 3 or d < 4 and 2 or d < 8 and 1 or 0)
      break
    end
    zeros = zeros + 4
    if zeros >= bits then
      break
    end
  end
  return zeros >= bits
end

if user == '' then
  return reply('STATE')
end
local member = redis.call('HGET', KEYS[6], user)
if redis.call('HEXISTS', KEYS[2], user) == 1 then
  return reply('WON', member)
end
if stock <= 0 then
  return reply('SOLD_OUT')
end
if m[3] and m[3] ~= '' and now >= tonumber(m[3]) then
  return reply('CLOSED')
end
if member then
  return reply(ARGV[1] == 'join' and 'ALREADY' or 'PLACED', member)
end
if ARGV[1] ~= 'join' then
  return reply('ABSENT')
end
if m[5] and m[5] ~= '' and now < tonumber(m[5]) then
  return reply('NOT_OPEN')
end
local bits = tonumber(m[8]) or 0
if bits > 0 and (ARGV[5] == '' or not proven(ARGV[5], bits)) then
  return reply('BAD_PROOF')
end
local opened = tonumber(m[2]) or tonumber(m[4])
if now < opened then
  member = ARGV[3]
  redis.call('ZADD', KEYS[5], 0, member)
else
  member = ARGV[4]
  redis.call('ZADD', KEYS[5], redis.call('HINCRBY', KEYS[3], 'queue_late', 1), member)
end
redis.call('HSET', KEYS[6], user, member)
return reply('JOINED', member)
