-- issue.lua: claim one coupon of an event for each of one or more users, atomically.
--
-- One call answers every user of an event that one app worker's event-loop tick has
-- (store/batcher.py): one script run instead of one per user. Users are answered one
-- after the other, in order, exactly as separate calls would answer them; the whole call
-- is one atomic step, so each user's answer is too.
--
-- KEYS[1]    coupon:{E}:stock         string, coupons left
-- KEYS[2]    coupon:{E}:participants  hash, user_id -> "slot:issued_at_ms"
-- KEYS[3]    coupon:{E}:meta          hash, total / starts_at / ends_at (ms, "" = none) / name,
--                                     and a shuffled opening's fields (opening, admit_wave,
--                                     admit_every_ms, created_at)
-- KEYS[4]    coupon:{E}:outbox        stream, one entry per win
-- KEYS[5]    coupon:{E}:queue         sorted set, a shuffled opening's queue in its order
-- KEYS[6]    coupon:{E}:queue:users   hash, user_id -> its member of the queue
-- KEYS[6+i]  coupon:{E}:bucket:<user i>  hash, user i's token bucket (tokens, ts); expires.
--            Only when the rate is not "0" (no bucket is read or written then).
-- ARGV[1]    token bucket rate, tokens per second ("0" = no per-user limit)
-- ARGV[2]    token bucket burst (capacity)
-- ARGV[3]    "all": every outcome is answered (the app); "wins": only a win or a winner's
--            retry is, and any other outcome is {"PASS"} with nothing written, not even
--            the bucket (the gateway's win lane: the request goes on to the app, which runs
--            the script again in "all" mode; docs/gateway.md)
-- ARGV[2+2i] user i's user_id, ARGV[3+2i] its request_id, for i = 1..n
--
-- Reply: one reply per user, in order; each one's first element is the outcome:
--   {"NOT_FOUND"}                       no such event
--   {"DUPLICATE", slot, issued_at_ms}   the user already won; same coupon again
--   {"RATE_LIMITED", retry_after_ms}    this user is over its token bucket
--   {"NOT_OPEN", starts_at_ms}          before the window
--   {"CLOSED", ends_at_ms}              after the window
--   {"SOLD_OUT"}                        no stock left
--   {"NOT_ADMITTED", position, admitted_upto, wait_ms}
--                                       a shuffled opening has not admitted this user's
--                                       position yet (0: not in the queue); wait_ms until it
--   {"ISSUED", slot, issued_at_ms}      won: stock decremented, participant and outbox written
--   {"PASS"}                            "wins" mode: any outcome but the two above
-- In "wins" mode the replies come as one string instead, one entry per user in order,
-- comma-separated: "I<slot>:<issued_at_ms>" (ISSUED), "D<slot>:<issued_at_ms>"
-- (DUPLICATE) or "P" (PASS): one bulk reply for the gateway to read, not three per user.
--
-- A winner is answered before the bucket, window and stock checks, so a retry of a win
-- always gets its coupon back, even after the event closed or sold out. A win takes no
-- token: every later call of its user is answered DUPLICATE before the bucket is read, so
-- the token would never be looked at. The bucket is the only key that expires: it is
-- throw-away state, and an expired bucket is a full one.
--
-- Admission (docs/fair-opening.md): a shuffled opening admits its queue in waves, wave k
-- admitting the positions up to wave * (k + 1) at opened + k * every, where opened is
-- starts_at (or created_at) and wave is admit_wave (or the stock and a tenth). It is
-- checked here, after the window and the stock, in the same atomic step as the win, so
-- nobody issues before admission. A first-come-first-served event reads one more meta
-- field, and nothing else.

local n = (#ARGV - 3) / 2
local wins_only = ARGV[3] == 'wins'
local PASS = {'PASS'}
local replies = {}

-- The replies as "wins" mode sends them (see the header).
local function compact()
  local out = {}
  for i, r in ipairs(replies) do
    local kind = r[1] == 'ISSUED' and 'I' or r[1] == 'DUPLICATE' and 'D' or nil
    out[i] = kind and (kind .. r[2] .. ':' .. r[3]) or 'P'
  end
  return table.concat(out, ',')
end

local meta = redis.call('HMGET', KEYS[3], 'total', 'starts_at', 'ends_at', 'opening')
local total = tonumber(meta[1])
if not total then
  for i = 1, n do
    replies[i] = wins_only and PASS or {'NOT_FOUND'}
  end
  return wins_only and compact() or replies
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local starts_at, ends_at = tonumber(meta[2]), tonumber(meta[3])
local shut = nil
if starts_at and now < starts_at then
  shut = {'NOT_OPEN', starts_at}
elseif ends_at and now >= ends_at then
  shut = {'CLOSED', ends_at}
end
local left = tonumber(redis.call('GET', KEYS[1]) or '0')
local issued = 0
-- this call's wins: a user named twice gets its win back, as from the participants hash
local won = {}
-- the last position admitted; nil for a first-come-first-served event
local admitted, opened, wave, every = nil, 0, 1, 1
if meta[4] == 'shuffled' then
  local q = redis.call('HMGET', KEYS[3], 'admit_wave', 'admit_every_ms', 'created_at')
  opened = starts_at or tonumber(q[3])
  wave = tonumber(q[1]) or math.ceil(total * 11 / 10)
  every = tonumber(q[2])
  admitted = now < opened and 0 or wave * (1 + math.floor((now - opened) / every))
end

-- The user's tokens after refilling; nil when the rate is "0".
local function tokens_of(bucket)
  if rate <= 0 then
    return nil
  end
  local found = redis.call('HMGET', bucket, 'tokens', 'ts')
  local tokens = tonumber(found[1]) or burst
  local since = now - (tonumber(found[2]) or now)
  return math.min(burst, tokens + since * rate / 1000)
end

local function take(bucket, tokens)
  redis.call('HSET', bucket, 'tokens', tokens - 1, 'ts', now)
  redis.call('PEXPIRE', bucket, math.ceil(burst * 1000 / rate) + 1000)
end

-- NOT_ADMITTED for a user the queue has not admitted, else nil.
local function waiting(user)
  local member = redis.call('HGET', KEYS[6], user)
  local position = member and (redis.call('ZRANK', KEYS[5], member) + 1) or 0
  if position > 0 and position <= admitted then
    return nil
  end
  local due = opened + (math.ceil(math.max(position, 1) / wave) - 1) * every
  return {'NOT_ADMITTED', position, admitted, math.max(0, due - now)}
end

local function claim(i)
  local user = ARGV[2 + 2 * i]
  local prior = won[user] or redis.call('HGET', KEYS[2], user)
  if prior then
    local sep = string.find(prior, ':', 1, true)
    local slot, issued_at = string.sub(prior, 1, sep - 1), string.sub(prior, sep + 1)
    return {'DUPLICATE', tonumber(slot), tonumber(issued_at)}
  end
  local bucket = KEYS[6 + i]
  local tokens = tokens_of(bucket)
  if tokens and tokens < 1 then
    return wins_only and PASS or {'RATE_LIMITED', math.ceil((1 - tokens) * 1000 / rate)}
  end
  local refused = shut or (left <= 0 and {'SOLD_OUT'}) or (admitted and waiting(user))
  if refused and wins_only then
    return PASS
  elseif refused then
    if tokens then
      take(bucket, tokens)
    end
    return refused
  end
  left = left - 1
  issued = issued + 1
  local slot = total - left
  won[user] = slot .. ':' .. now
  redis.call('HSET', KEYS[2], user, won[user])
  redis.call('XADD', KEYS[4], '*',
    'user_id', user, 'slot', slot, 'issued_at', now, 'request_id', ARGV[3 + 2 * i])
  return {'ISSUED', slot, now}
end

for i = 1, n do
  replies[i] = claim(i)
end
if issued > 0 then
  redis.call('DECRBY', KEYS[1], issued)
end
return wins_only and compact() or replies
