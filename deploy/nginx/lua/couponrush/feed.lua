-- couponrush/feed.lua: how the gateway learns which events are sold out and who won them.
--
-- One worker of each gateway polls the app's internal feed every poll_ms, over the
-- gateway's own feed listener (lua/gateway.conf.template) and through it any app worker:
--   GET /internal/edge/soldout      {"events": [{"event_id", "fingerprint"}, ...]}
--   GET /internal/edge/soldout/{E}  {"event_id", "fingerprint", "winners": [...],
--                                    "answers": {lang: the app's 410 body}} or 404
-- A listed event whose fingerprint the edge holds is verified again, as of the moment the
-- poll was sent; a new or changed one is loaded; one no longer listed is dropped. A
-- failed poll verifies nothing, so the edge stops answering once the lease has passed.
--
-- Keys in lua_shared_dict couponrush_gateway:
--   "poll:lock"     pid of the worker that polls (taken over within its TTL when that
--                   worker exits or dies)
--   "poll:last_ok"  monotonic ms when the last good poll was sent
--   "poll:took_ms", "poll:slowest_ms"  how long the last good poll took, and the slowest

local cjson = require("cjson.safe")
local config = require("couponrush.config")
local http = require("couponrush.http")
local metrics = require("couponrush.metrics")
local soldout = require("couponrush.soldout")
local monotonic_msec = require("resty.core.time").monotonic_msec

local gateway = ngx.shared.couponrush_gateway
local EVENT_RE = [[^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$]]
local PATH = "/internal/edge/soldout"

local M = {}

local function get(path)
    local status, body = http.get(config.feed, path, 2000)
    if status == 200 then
        local doc = cjson.decode(body)
        if type(doc) == "table" then
            return doc
        end
    end
    return nil, status and ("feed answered " .. status) or body
end

-- Load one sold-out event's winners; drop it when that fails.
local function load(e)
    local sent = monotonic_msec()
    local doc = get(PATH .. "/" .. e)
    local fp, users = doc and doc.fingerprint, doc and doc.winners
    if type(fp) ~= "string" or type(users) ~= "table" or doc.event_id ~= e then
        soldout.drop(e)
        return
    end
    local bodies = type(doc.answers) == "table" and doc.answers or nil
    local ok, err = soldout.store(e, fp, users, sent, bodies)
    if not ok then
        ngx.log(ngx.ERR, "couponrush edge: no room for ", e, ": ", err)
    end
end

local function poll()
    local sent = monotonic_msec()
    local doc, err = get(PATH)
    if not doc or type(doc.events) ~= "table" then
        return nil, err or "feed without events"
    end
    local listed = {}
    for _, event in ipairs(doc.events) do
        local e, fp = event.event_id, event.fingerprint
        if type(e) == "string" and type(fp) == "string" and ngx.re.find(e, EVENT_RE, "jo") then
            listed[e] = true
            if not soldout.refresh(e, fp, sent) then
                soldout.drop(e) -- what it held is not current: no answers from it meanwhile
                load(e)
            end
        end
    end
    for _, e in ipairs(soldout.events()) do
        if not listed[e] then
            soldout.drop(e)
        end
    end
    local took = monotonic_msec() - sent
    gateway:set("poll:last_ok", sent)
    gateway:set("poll:took_ms", took)
    if took > (gateway:get("poll:slowest_ms") or 0) then
        gateway:set("poll:slowest_ms", took)
    end
    return true
end

local pid
local running = false
local LOG_EVERY_MS = 10000
local failing_since_log

local function holds_lock()
    local ttl = math.max(1, config.poll_ms * 5 / 1000)
    if gateway:get("poll:lock") == pid then
        return gateway:set("poll:lock", pid, ttl)
    end
    return gateway:add("poll:lock", pid, ttl)
end

-- Counts every poll; logs a failing feed when it starts failing and every LOG_EVERY_MS.
local function report(ok, err)
    if ok then
        metrics.count("poll:ok")
        if failing_since_log then
            ngx.log(ngx.WARN, "couponrush edge: the sold-out feed answers again")
            failing_since_log = nil
        end
        return
    end
    metrics.count("poll:errors")
    local now = monotonic_msec()
    if not failing_since_log or now - failing_since_log >= LOG_EVERY_MS then
        failing_since_log = now
        ngx.log(ngx.WARN, "couponrush edge: poll failed: ", err)
    end
end

local function tick(premature)
    if premature then
        -- Reload or shutdown: hand the poll to a worker of the new generation at once.
        if gateway:get("poll:lock") == pid then
            gateway:delete("poll:lock")
        end
        return
    end
    if running or not holds_lock() then
        return
    end
    running = true
    local ok, done, err = pcall(poll)
    running = false
    report(ok and done, ok and err or done)
end

function M.start()
    pid = ngx.worker.pid()
    local ok, err = ngx.timer.every(config.poll_ms / 1000, tick)
    if not ok then
        ngx.log(ngx.ERR, "couponrush edge: no poll timer: ", err)
        return
    end
    ngx.timer.at(0, tick)
end

return M
