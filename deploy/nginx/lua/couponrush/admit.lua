-- couponrush/admit.lua: the global request-rate bound of one gateway. At most `rate`
-- requests a second go on to the app, counted over a sliding second: this second's count
-- plus the last one's, weighted by the share of it still inside the window. Only requests
-- let through are counted, so a flood beyond the bound does not shut out the next second.
--
-- Keys in lua_shared_dict couponrush_gateway: "rate:" .. S -> requests let through in
-- second S of the clock (they expire after 2 s).
--
-- admit(rate) -> true when the request may go on
-- refuse()      sends 503 overloaded and ends the request, in the client's language
--               (couponrush.lang): the same answer, byte for byte, as the gateway's
--               /_gw/503 location, made here without the internal redirect, its location
--               and its variables (a refusal costs a fraction of a request: docs/gateway.md)

local config = require("couponrush.config")
local lang = require("couponrush.lang")

local gateway = ngx.shared.couponrush_gateway
local floor = math.floor
local byte = string.byte

local M = {}

-- The keys of second S and of the one before, built once a second per worker.
local keyed_second, this_key, last_key = -1, "", ""

local function keys_of(second)
    if second ~= keyed_second then
        keyed_second, this_key, last_key = second, "rate:" .. second, "rate:" .. (second - 1)
    end
    return this_key, last_key
end

function M.admit(rate)
    local now = ngx.now()
    local second = floor(now)
    local key, before = keys_of(second)
    local last = gateway:get(before) or 0
    local allowed = rate - last * (1 - (now - second))
    -- Already full: refused with reads alone (most requests of a flood end here).
    if (gateway:get(key) or 0) + 1 > allowed then
        return false
    end
    if gateway:incr(key, 1, 0, 2) <= allowed then
        return true
    end
    gateway:incr(key, -1)
    return false
end

-- By language; the texts are the catalogues' (web/static/i18n), a test holds them equal.
local BODIES = {
    en = '{"type":"urn:couponrush:problem:overloaded","title":"Service Unavailable",'
        .. '"status":503,"detail":"At capacity; try again after Retry-After.",'
        .. '"result":"overloaded"}',
    ko = '{"type":"urn:couponrush:problem:overloaded","title":"처리 한도 초과",'
        .. '"status":503,"detail":"처리 한도에 도달했습니다. Retry-After에 적힌 시간이 지난 뒤 '
        .. '다시 시도하세요.","result":"overloaded"}',
}

-- Retry-After in retry_after .. retry_after + retry_spread, by the last hex digit of
-- nginx's random request id (as the RETRY_LATER map picks it for the gateway's other 503s).
local function retry_after()
    local c = byte(ngx.var.request_id, -1)
    local digit = c <= 57 and c - 48 or c - 87
    return config.retry_after + digit % (config.retry_spread + 1)
end

function M.refuse()
    local chosen = lang.pick(ngx.var.http_accept_language)
    local body = BODIES[chosen]
    ngx.status = ngx.HTTP_SERVICE_UNAVAILABLE
    local header = ngx.header
    header["Content-Type"] = "application/problem+json"
    header["Content-Length"] = #body
    header["Content-Language"] = chosen
    header["Vary"] = "Accept-Language"
    header["X-Rejected-By"] = "gateway"
    header["Retry-After"] = retry_after()
    ngx.print(body)
    return ngx.exit(ngx.HTTP_OK)
end

return M
