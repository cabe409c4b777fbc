-- couponrush/lane.lua: the win lane. An issue request the app would read as a plain
-- claim (POST, JSON, one valid user_id: couponrush.edge's caller) is run through
-- issue.lua by the gateway itself, in the script's "wins" mode: a win, or a winner's retry,
-- is answered here with the app's own body (couponrush.coupon). Any other outcome leaves
-- Redis untouched (not even the user's bucket), and the request goes on to the app, which
-- runs the script again and answers it. A failure of any kind (Redis away, a timeout, the
-- replicas not confirming, NOSCRIPT, a Lua error) also sends the request on: a win is
-- idempotent, so a request whose win the lane made but could not answer gets the same
-- coupon from the app. docs/gateway.md has the design.
--
-- Calls of one event that arrive while this worker's last run for it is in flight go out
-- together, in one run of the script (as store/batcher.py groups an app worker's): the
-- first caller of a group waits for the event's turn, closes the group, sends it
-- (couponrush.run), and wakes the others.
--
-- try(e) -> the status and body of a win, else nil and why not: "unsure" (not a plain
--           claim), "pass" (another outcome) or "error"
-- answer(status, body)   sends the win and ends the request

local config = require("couponrush.config")
local coupon = require("couponrush.coupon")
local edge = require("couponrush.edge")
local metrics = require("couponrush.metrics")
local run_group = require("couponrush.run").send
local tally = require("couponrush.tally")
local semaphore = require("ngx.semaphore")

local M = {}

-- event id -> { turn = semaphore (one run in flight), open = the group calls join }
local lanes = {}
local function run(lane, e, group, opts)
    local ok, err = lane.turn:wait(opts.timeout_ms / 1000)
    if lane.open == group then
        lane.open = nil -- later calls start the next group
    end
    if not ok then
        return nil, "turn: " .. tostring(err)
    end
    local done, replies, why = pcall(run_group, e, group, opts)
    metrics.count("lane:runs")
    lane.turn:post(1)
    if lane.open == nil and lane.turn:count() == 1 then
        lanes[e] = nil -- idle: an event id that is not one costs nothing after its call
    end
    if not done then
        return nil, replies
    end
    return replies, why
end

-- This call's reply from its group's run, or nil and why.
local function call(e, user, request_id, opts)
    local lane = lanes[e]
    if not lane then
        lane = { turn = semaphore.new(1) }
        lanes[e] = lane
    end
    local group = lane.open
    if not group or group.n >= opts.batch then
        group = { n = 0, args = {}, done = semaphore.new(0) }
        lane.open = group
    end
    local place = group.n + 1
    group.n = place
    group.args[2 * place - 1], group.args[2 * place] = user, request_id
    if place == 1 then
        group.replies, group.err = run(lane, e, group, opts)
        if group.n > 1 then
            group.done:post(group.n - 1)
        end
    else
        local ok, err = group.done:wait(opts.timeout_ms * 2 / 1000)
        if not ok then
            return nil, "group: " .. tostring(err)
        end
    end
    if not group.replies then
        return nil, group.err
    end
    return group.replies[place]
end

-- The outcomes the lane answers: the result, its status (web/problems.STATUS), its counter.
local RESULTS = {
    ISSUED = { name = "issued", status = 201, counter = "lane:issued" },
    DUPLICATE = { name = "already_issued", status = 200, counter = "lane:already_issued" },
}

-- One warning a second per worker at most: a Redis outage is not a line per request.
local warned_at = 0

local function warn(err)
    local now = ngx.now()
    if now - warned_at >= 1 then
        warned_at = now
        ngx.log(ngx.WARN, "couponrush win lane, on to the app: ", err)
    end
end

function M.answer(status, body)
    ngx.status = status
    local header = ngx.header
    header["Content-Type"] = "application/json"
    header["Content-Length"] = #body
    ngx.print(body)
    return ngx.exit(ngx.HTTP_OK)
end

function M.try(e)
    local user = edge.caller()
    if not user then
        return nil, "unsure"
    end
    local reply, err = call(e, user, ngx.var.couponrush_request_id, config.wins)
    if not reply then
        metrics.count("lane:errors")
        warn(err)
        return nil, "error"
    end
    local result = RESULTS[reply[1]]
    if not result then
        metrics.count("lane:pass")
        return nil, "pass"
    end
    metrics.count(result.counter)
    tally.add(e, result.name)
    return result.status, coupon.body(result.name, e, user, reply[2], reply[3])
end

return M
