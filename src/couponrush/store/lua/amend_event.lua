-- amend_event.lua: change a live event's definition, close it, or archive it, atomically
-- with respect to issue.lua (which reads total and the window at each call).
--
-- KEYS[1]  coupon:{E}:stock
-- KEYS[2]  coupon:{E}:participants   (unused; the KEYS order shared with issue.lua)
-- KEYS[3]  coupon:{E}:meta
-- KEYS[4]  coupon:{E}:outbox         (unused)
-- ARGV[1]  operation: "amend", "close" or "archive"
-- ARGV[2]  name ("~" = keep)
-- ARGV[3]  starts_at, ms ("" = open now, "~" = keep); only while the event has not opened
-- ARGV[4]  ends_at, ms ("" = never closes, "~" = keep); must lie in the future
-- ARGV[5]  total stock ("~" = keep); never lower than it is: the difference is added to
--          the stock counter, so the slots go on from where they were
-- ARGV[6..12]  the opening (core.event.opening_meta's fields in its order: opening,
--          prequeue_opens_at, admit_wave, admit_every_ms, proof_bits, seed, commitment;
--          "~" in ARGV[6] = keep it). The mode and the pre-queue's opening change only
--          before the pre-queue and the sale opened, the admission only before the sale;
--          the proof's difficulty at any time. A seed once set is kept: ARGV[11] and
--          ARGV[12] are written only where there is none.
--
-- Replies (first element is the outcome):
--   {"OK", total, starts_at, ends_at, name, opening, prequeue_opens_at, admit_wave,
--    admit_every_ms, proof_bits, seed}      done (or nothing to do); the values now
--   {"NOT_FOUND"}                             no such event
--   {"ARCHIVED"}                              amend or close of an archived event
--   {"STARTED", starts_at_ms}                 starts_at of an event that has opened
--   {"LOWERED", total}                        a total below the current one
--   {"PAST", now_ms}                          an ends_at that is not in the future
--   {"WINDOW"}                                ends_at not after starts_at
--   {"QUEUE_OPEN"}                            an opening change once that is too late
--   {"PREQUEUE"}                              a pre-queue that opens at or after starts_at
--   {"NOT_FINISHED"}                          archive of an event still open or to come
--
-- close: ends_at becomes now (unless it has passed already); an event that has not opened
-- gets its starts_at set to now too, so that it reads closed rather than scheduled.
-- archive: only a finished event (window over, or no stock left); marks meta "archived".

local meta = redis.call('HMGET', KEYS[3], 'total', 'starts_at', 'ends_at', 'name', 'archived')
local total = tonumber(meta[1])
if not total then
  return {'NOT_FOUND'}
end
local starts, ends, name, archived = meta[2] or '', meta[3] or '', meta[4] or '', meta[5] == '1'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local op = ARGV[1]
local Q = {'opening', 'prequeue_opens_at', 'admit_wave', 'admit_every_ms', 'proof_bits', 'seed',
  'commitment'}
local q = redis.call('HMGET', KEYS[3], unpack(Q))
for i = 1, #Q do
  q[i] = q[i] or ''
end

local function values()
  return {'OK', total, starts, ends, name, q[1], q[2], q[3], q[4], q[5], q[6]}
end

local function before(ms)
  return ms ~= '' and now < tonumber(ms)
end

-- The opening after this change, or a refusal; new_starts is the starts_at it will have.
local function reopened(new_starts)
  local new = {q[1], q[2], q[3], q[4], q[5], q[6], q[7]}
  if ARGV[6] ~= '~' then
    local waiting = before(starts) and (q[1] ~= 'shuffled' or before(q[2]))
    if (ARGV[6] ~= q[1] or ARGV[7] ~= q[2]) and not waiting then
      return nil, {'QUEUE_OPEN'}
    end
    if (ARGV[8] ~= q[3] or ARGV[9] ~= q[4]) and q[1] == 'shuffled' and not before(starts) then
      return nil, {'QUEUE_OPEN'}
    end
    new = {ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], q[6], q[7]}
    if q[6] == '' then
      new[6], new[7] = ARGV[11], ARGV[12]
    end
  end
  if new[1] == 'shuffled' and new[2] ~= ''
      and (new_starts == '' or tonumber(new[2]) >= tonumber(new_starts)) then
    return nil, {'PREQUEUE'}
  end
  return new
end

if op == 'archive' then
  if archived then
    return values()
  end
  local over = ends ~= '' and tonumber(ends) <= now
  if not over and tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then
    return {'NOT_FINISHED'}
  end
  redis.call('HSET', KEYS[3], 'archived', '1')
  return values()
end
if archived then
  return {'ARCHIVED'}
end

if op == 'close' then
  if ends == '' or tonumber(ends) > now then
    ends = tostring(now)
    if starts ~= '' and tonumber(starts) > now then
      starts = ends
    end
    redis.call('HSET', KEYS[3], 'starts_at', starts, 'ends_at', ends)
  end
  return values()
end

local new_starts, new_ends, new_total = starts, ends, total
if ARGV[3] ~= '~' and ARGV[3] ~= starts then
  if starts == '' or tonumber(starts) <= now then
    return {'STARTED', tonumber(starts) or 0}
  end
  new_starts = ARGV[3]
end
if ARGV[4] ~= '~' and ARGV[4] ~= ends then
  if ARGV[4] ~= '' and tonumber(ARGV[4]) <= now then
    return {'PAST', now}
  end
  new_ends = ARGV[4]
end
if new_starts ~= '' and new_ends ~= '' and tonumber(new_ends) <= tonumber(new_starts) then
  return {'WINDOW'}
end
if ARGV[5] ~= '~' then
  new_total = tonumber(ARGV[5])
  if new_total < total then
    return {'LOWERED', total}
  end
end

local new_q, refused = reopened(new_starts)
if refused then
  return refused
end

if ARGV[2] ~= '~' then
  name = ARGV[2]
end
if new_total > total then
  redis.call('INCRBY', KEYS[1], new_total - total)
end
starts, ends, total, q = new_starts, new_ends, new_total, new_q
redis.call('HSET', KEYS[3], 'total', total, 'starts_at', starts, 'ends_at', ends, 'name', name)
for i = 1, #Q do
  redis.call('HSET', KEYS[3], Q[i], q[i])
end
return values()
