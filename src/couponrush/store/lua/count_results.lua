-- count_results.lua: add an app worker's issue answers of one event to its tally, for the
-- dashboard's results mix; nothing for an event Redis does not hold (so a flood of made-up
-- event ids leaves no key behind).
--
-- KEYS[1]  coupon:{E}:meta
-- KEYS[2]  coupon:{E}:results   hash, result -> count
-- ARGV     result, count, result, count, ...
--
-- Reply: 1 when counted, 0 when the event is unknown.

if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
for i = 1, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1])
end
return 1
