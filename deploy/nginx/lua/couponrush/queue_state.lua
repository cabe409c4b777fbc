-- couponrush/queue_state.lua: a shuffled opening's state document (GET or HEAD of
-- /v1/events/{E}/queue/state, docs/fair-opening.md), answered from a copy this worker
-- keeps for at most MAX_AGE_S, like the sold-out edge answers from its own state. The
-- copy is fetched from the app through the internal location /_qs/ (a subrequest); one
-- fetch per event at a time in a worker, the others answered the copy being replaced.
-- Anything but a 200 is not kept, and the request goes on to the app as before.
--
-- answer() -> true when it answered (the request is over), else nil

local re_match = ngx.re.match
local capture = ngx.location.capture

local M = {}
local MAX_AGE_S = 1
local STATE_RE = [[^/v1/events/([A-Za-z0-9][A-Za-z0-9._-]{0,63})/queue/state(?:\?.*)?$]]

-- E -> { body = document, at = ngx.now() when fetched, filling = a fetch under way }
local copies = {}

local function fetch(e, copy)
    copy.filling = true
    local ok, res = pcall(capture, "/_qs/v1/events/" .. e .. "/queue/state")
    copy.filling = false
    if ok and res.status == 200 and not res.truncated then
        copy.body, copy.at = res.body, ngx.now()
    end
end

function M.answer()
    local method = ngx.req.get_method()
    if method ~= "GET" and method ~= "HEAD" then
        return nil
    end
    local m = re_match(ngx.var.request_uri, STATE_RE, "jo")
    if not m then
        return nil
    end
    local e = m[1]
    local copy = copies[e]
    if not copy then
        copy = { at = 0 }
        copies[e] = copy
    end
    if ngx.now() - copy.at >= MAX_AGE_S and not (copy.filling and copy.body) then
        fetch(e, copy)
    end
    if not copy.body or ngx.now() - copy.at >= 2 * MAX_AGE_S then
        return nil
    end
    local header = ngx.header
    header["Content-Type"] = "application/json"
    header["Content-Length"] = #copy.body
    header["Cache-Control"] = "public, max-age=" .. MAX_AGE_S
    ngx.print(copy.body)
    ngx.exit(ngx.HTTP_OK)
    return true
end

return M
