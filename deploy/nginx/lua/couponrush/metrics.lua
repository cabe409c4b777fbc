-- couponrush/metrics.lua: the gateway's counters and their Prometheus text exposition.
-- The names are an interface (alert rules and dashboards use them; docs/gateway.md).
--
-- Counters in lua_shared_dict couponrush_gateway (they survive a reload, not a restart):
--   "status:" .. code       responses sent, by status (log phase: every request)
--   "edge:answers"          410 sold_out answered by the edge
--   "edge:pass:" .. why     issue requests for an event held sold out that went on to the
--                           app: winner, stale (past the lease), unsure
--   "shed"                  503 overloaded from the global rate bound
--   "errors"                Lua errors on the request path (the request went on)
--   "poll:ok", "poll:errors"  polls of the app's sold-out feed
--   "lane:" .. outcome      issue requests the win lane took (couponrush.lane): issued and
--                           already_issued (answered), pass and errors (on to the app)
--   "lane:runs"             the lane's runs of issue.lua (each for a group of requests)
-- and, for the gauges, the poller's clocks (couponrush.feed) and the edge's state.

local config = require("couponrush.config")
local soldout = require("couponrush.soldout")
local monotonic_msec = require("resty.core.time").monotonic_msec

local gateway = ngx.shared.couponrush_gateway
local format, sub = string.format, string.sub

local M = {}

function M.count(key)
    gateway:incr(key, 1, 0)
end

-- "status:" .. code, built once per code and worker (the log phase runs for every request)
local status_keys = setmetatable({}, {
    __index = function(keys, code)
        keys[code] = "status:" .. code
        return keys[code]
    end,
})

function M.log()
    gateway:incr(status_keys[ngx.status], 1, 0)
end

local function family(out, name, kind, help)
    out[#out + 1] = format("# HELP %s %s\n# TYPE %s %s\n", name, help, name, kind)
end

local function sample(out, name, value, label, label_value)
    if label then
        out[#out + 1] = format('%s{%s="%s"} %s\n', name, label, label_value, value)
    else
        out[#out + 1] = format("%s %s\n", name, value)
    end
end

local function responses(out)
    family(out, "couponrush_gateway_responses_total", "counter",
        "Responses the gateway sent, by status: the app's and its own.")
    for _, key in ipairs(gateway:get_keys(0)) do
        if sub(key, 1, 7) == "status:" then
            sample(out, "couponrush_gateway_responses_total", gateway:get(key) or 0,
                "status", sub(key, 8))
        end
    end
end

local function counter(out, name, help, key)
    family(out, name, "counter", help)
    sample(out, name, gateway:get(key) or 0)
end

local function gauge(out, name, help, value)
    family(out, name, "gauge", help)
    sample(out, name, value)
end

local function seconds(ms)
    return format("%.3f", ms / 1000)
end

local function edge(out)
    local name = "couponrush_gateway_edge_passes_total"
    family(out, name, "counter",
        "Issue requests for an event the edge holds as sold out that went on to the app.")
    for _, why in ipairs({ "winner", "stale", "unsure" }) do
        sample(out, name, gateway:get("edge:pass:" .. why) or 0, "reason", why)
    end
    local now, live = monotonic_msec(), 0
    for _, e in ipairs(soldout.events()) do
        local fp, verified_ms = soldout.flag(e)
        live = live + ((fp and now - verified_ms <= config.lease_ms) and 1 or 0)
    end
    gauge(out, "couponrush_gateway_edge_events",
        "Events the edge answers for now: sold out, verified within the lease.", live)
    gauge(out, "couponrush_gateway_edge_enabled",
        "1 when the sold-out edge answers (the edge_answers setting).", config.edge and 1 or 0)
end

local function lane(out)
    local name = "couponrush_gateway_lane_total"
    family(out, name, "counter",
        "Issue requests the win lane ran issue.lua for, by outcome: issued and already_issued "
        .. "answered at the gateway; pass and error went on to the app.")
    for _, outcome in ipairs({ "issued", "already_issued", "pass", "errors" }) do
        sample(out, name, gateway:get("lane:" .. outcome) or 0, "outcome",
            outcome == "errors" and "error" or outcome)
    end
    counter(out, "couponrush_gateway_lane_runs_total",
        "Runs of issue.lua the win lane sent: each answers a group of its requests.", "lane:runs")
    gauge(out, "couponrush_gateway_lane_enabled",
        "1 when the win lane answers wins (the gateway_wins setting).", config.wins.on and 1 or 0)
end

local function polls(out)
    local name = "couponrush_gateway_edge_polls_total"
    family(out, name, "counter", "Polls of the app's sold-out feed, by result.")
    sample(out, name, gateway:get("poll:ok") or 0, "result", "ok")
    sample(out, name, gateway:get("poll:errors") or 0, "result", "error")
    local last = gateway:get("poll:last_ok")
    gauge(out, "couponrush_gateway_edge_poll_age_seconds",
        "Seconds since the last good poll of the sold-out feed was sent (-1: none yet).",
        last and seconds(monotonic_msec() - last) or "-1")
    gauge(out, "couponrush_gateway_edge_poll_seconds",
        "How long the last good poll took.", seconds(gateway:get("poll:took_ms") or 0))
    gauge(out, "couponrush_gateway_edge_poll_slowest_seconds",
        "How long the slowest good poll since the gateway started took.",
        seconds(gateway:get("poll:slowest_ms") or 0))
end

function M.render()
    local out = {}
    responses(out)
    counter(out, "couponrush_gateway_edge_answers_total",
        "Issue requests the sold-out edge answered 410 itself.", "edge:answers")
    counter(out, "couponrush_gateway_shed_total",
        "Requests the global rate bound answered 503 overloaded.", "shed")
    counter(out, "couponrush_gateway_lua_errors_total",
        "Lua errors on the request path; each request went on to the app.", "errors")
    edge(out)
    lane(out)
    polls(out)
    return table.concat(out)
end

return M
