-- wrk script: arrivals on a schedule, whatever happens to earlier ones (an open model,
-- as near as wrk gets). Each thread hands out send times `interval` ms apart (the first
-- script argument: per-thread arrivals per second); a connection that got its answer
-- waits for the next free send time. With enough connections idle (answers quicker than
-- connections * interval) requests go out on time. A schedule more than a second
-- behind starts again from now, and the arrivals it skipped are counted as missed.
-- Every request is a new user's issue POST (wins are the 2xx answers: wrk counts the
-- others). Prints "missed COUNT".
local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } couponrush_timespec;
int clock_gettime(int clock, couponrush_timespec *ts);
]])
local MONOTONIC = 1
local clock = ffi.new("couponrush_timespec")
local threads = {}

local function now_ms()
  ffi.C.clock_gettime(MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  interval = 1000 / tonumber(args[1])
  math.randomseed(os.time() + tid * 7919)
  prefix = "o" .. tid .. "-" .. math.random(1, 1000000000) .. "-"
  counter, missed = 0, 0
end

function delay()
  local now = now_ms()
  if not next_ms or next_ms < now - 1000 then
    if next_ms then
      missed = missed + math.floor((now - next_ms) / interval)
    end
    next_ms = now
  end
  next_ms = next_ms + interval
  return math.max(0, math.floor(next_ms - now))
end

function request()
  counter = counter + 1
  local body = '{"user_id":"' .. prefix .. counter .. '"}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end

function done(summary, latency, requests)
  local skipped = 0
  for _, thread in ipairs(threads) do
    skipped = skipped + thread:get("missed")
  end
  io.write(string.format("missed %d\n", skipped))
end
