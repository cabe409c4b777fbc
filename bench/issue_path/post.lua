-- wrk script: POST an issue request for a new random user each time.
-- Each thread gets its own prefix so users never repeat across threads.
local counter = 0
local threads = 0

function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

function init(args)
  math.randomseed(os.time() + tid * 7919)
  prefix = "b" .. tid .. "-" .. math.random(1, 1000000000) .. "-"
end

function request()
  counter = counter + 1
  local body = '{"user_id":"' .. prefix .. counter .. '"}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
