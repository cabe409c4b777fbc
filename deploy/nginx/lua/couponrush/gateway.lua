-- couponrush/gateway.lua: what the nginx config calls (couponrush.conf.template and
-- lua/gateway.conf.template); the work is in the modules it wires together.
--
-- configure(opts)  init_by_lua: the options of couponrush.config
-- init_worker()    init_worker_by_lua: the sold-out poller (couponrush.feed), edge on;
--                  the win lane's tally round (couponrush.tally), lane on
-- access()         access phase of every proxied request, after the per-client bucket:
--                  the sold-out edge may answer 410 (couponrush.edge), or a queue's
--                  state document from this worker's copy (couponrush.queue_state);
--                  else the global rate bound may answer 503 overloaded
--                  (couponrush.admit); what the app's server would refuse with an empty
--                  answer gets a JSON 431 or 400 (couponrush.request); else on to the
--                  app, unless the win lane answers a win itself (couponrush.lane). A Lua
--                  error in the edge, the copy or the lane fails open: the request goes
--                  on.
-- log()            log phase: counts the response (couponrush.metrics)
-- metrics()        content of GET /gateway/metrics: Prometheus text

local admit = require("couponrush.admit")
local config = require("couponrush.config")
local edge = require("couponrush.edge")
local feed = require("couponrush.feed")
local metrics = require("couponrush.metrics")
local queue_state = require("couponrush.queue_state")
local request = require("couponrush.request")

local M = {}

M.log = metrics.log

-- The win lane's modules, loaded only when it is on: they need the Redis client, which the
-- deployed image does not carry.
local lane, tally

function M.configure(opts)
    config.set(opts)
    if config.wins.on then
        lane, tally = require("couponrush.lane"), require("couponrush.tally")
        require("couponrush.coupon").set_secret(config.wins.secret)
    end
end

function M.init_worker()
    if config.edge then
        feed.start()
    end
    if config.wins.on then
        tally.start()
    end
end

-- fn(arg)'s results, failing open: a Lua error is counted and logged, and nil returned
-- (the request goes on to the app).
local function fail_open(what, fn, arg)
    local ok, a, b = pcall(fn, arg)
    if ok then
        return a, b
    end
    metrics.count("errors")
    ngx.log(ngx.ERR, "couponrush ", what, ": ", a)
    return nil
end

-- The 410 body the edge answers with and its language, or nil; counted, and failing open.
local function edge_decision(e)
    local body, why = fail_open("edge", edge.decide, e)
    if body then
        metrics.count("edge:answers")
        return body, why
    end
    if why then
        metrics.count("edge:pass:" .. why)
    end
    return nil
end


function M.access()
    local e = (config.edge or config.wins.on) and edge.issue_event()
    local body, lang
    if config.edge and e then
        body, lang = edge_decision(e)
    end
    if body then
        return edge.answer(body, lang)
    end
    -- a queue's state document from this worker's copy (couponrush.queue_state)
    if config.edge and fail_open("queue state", queue_state.answer) then
        return
    end
    if config.rate > 0 and not admit.admit(config.rate) then
        metrics.count("shed")
        return admit.refuse()
    end
    if request.too_many_headers() then
        return ngx.exit(494) -- answered as 431, as nginx answers its own header limit
    end
    if request.bad_header_bytes() then
        return ngx.exit(ngx.HTTP_BAD_REQUEST)
    end
    local status, won = nil, nil
    if e and config.wins.on then
        status, won = fail_open("win lane", lane.try, e)
    end
    if status then
        return lane.answer(status, won)
    end
end

function M.metrics()
    ngx.header["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
    ngx.print(metrics.render())
end

return M
