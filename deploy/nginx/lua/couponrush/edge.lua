-- couponrush/edge.lua: the sold-out edge. POST /v1/events/{E}/issue for an event known
-- sold out, from a caller that is not one of its winners, is answered here with the app's
-- own 410 body in the caller's language (the app hands the bodies over with the winners,
-- couponrush.feed: byte for byte what web/issue.py answers), without touching the app.
--
-- Safety rule: answer only when sure the app would answer exactly that 410. A winner, an
-- event not known sold out or not verified within the lease, anything the app would refuse
-- first (method, media type, body) or might read differently: the request goes on.
--
-- issue_event() -> the event id of an issue request's target, else nil
-- caller()      -> the user id and Accept-Language of a plain claim (what the app reads
--                  as one: POST, JSON, one valid user_id; the lane takes the same), else nil
-- decide(e) -> the 410 body and its language when the edge answers, else nil and why
--             ("winner", "stale", "unsure", or nil when the event is not known sold out
--             at all); its only side effect is reading the body.
-- answer(body, lang)   sends the 410 and ends the request.

local config = require("couponrush.config")
local lang = require("couponrush.lang")
local soldout = require("couponrush.soldout")
local monotonic_msec = require("resty.core.time").monotonic_msec

local re_match = ngx.re.match
local find, sub, lower = string.find, string.sub, string.lower

local M = {}

-- The raw request target (no escape fits the class), so the event id is the one the app
-- reads after its own decoding; the query is ignored by both.
local ISSUE_RE = [[^/v1/events/([A-Za-z0-9][A-Za-z0-9._-]{0,63})/issue(?:\?.*)?$]]
-- Canonical bodies only: one key, a string already within USER_ID_RE, JSON whitespace
-- (not \s: PCRE's \s has \v and \f, which JSON refuses). Anything else (escapes, more
-- keys, duplicate keys) is the app's to read.
local BODY_RE = [[^[ \t\r\n]*\{[ \t\r\n]*"user_id"[ \t\r\n]*:[ \t\r\n]*"([A-Za-z0-9][A-Za-z0-9._:@+-]{0,127})"[ \t\r\n]*\}[ \t\r\n]*$]] -- luacheck: ignore 631

-- web/problems.is_json_content_type: application/json or application/*+json, before any
-- parameter, trimmed of ASCII whitespace, case-insensitive.
local function is_json(value)
    if value == "application/json" then
        return true
    end
    local semi = find(value, ";", 1, true)
    local media = lower((semi and sub(value, 1, semi - 1) or value):match("^%s*(.-)%s*$"))
    return media == "application/json"
        or (sub(media, 1, 12) == "application/" and sub(media, -5) == "+json")
end

-- The user id and the Accept-Language (nil: none) of a request the app would take to its
-- sold-out cache, else nil.
function M.caller()
    if ngx.req.get_method() ~= "POST" then
        return nil
    end
    -- The app reads the last Content-Type and Accept-Language: two of either, or more
    -- headers than read, and the edge is not sure which.
    local headers, truncated = ngx.req.get_headers(100)
    local ctype, accept = headers["content-type"], headers["accept-language"]
    if truncated or type(ctype) ~= "string" or not is_json(ctype) or type(accept) == "table" then
        return nil
    end
    ngx.req.read_body()
    local body = ngx.req.get_body_data()
    local m = body and re_match(body, BODY_RE, "jo")
    return m and m[1], accept
end

function M.issue_event()
    local m = re_match(ngx.var.request_uri, ISSUE_RE, "jo")
    return m and m[1]
end

function M.decide(e)
    local fp, verified_ms = soldout.flag(e)
    if not fp then
        return nil
    end
    if monotonic_msec() - verified_ms > config.lease_ms then
        return nil, "stale"
    end
    local user, accept = M.caller()
    local winners = user and soldout.winners(e, fp)
    if not winners then
        return nil, "unsure"
    end
    if winners[user] then
        return nil, "winner"
    end
    local chosen = lang.pick(accept)
    local body = soldout.answer(e, fp, chosen)
    if not body then -- an app that hands over no answers (older), or mid-swap
        return nil, "unsure"
    end
    return body, chosen
end

function M.answer(body, chosen)
    ngx.status = 410
    local header = ngx.header
    header["Content-Type"] = "application/problem+json"
    header["Content-Length"] = #body
    header["Content-Language"] = chosen
    header["Vary"] = "Accept-Language"
    header["X-Rejected-By"] = "gateway"
    ngx.print(body)
    return ngx.exit(ngx.HTTP_OK)
end

M._is_json = is_json
return M
