-- couponrush/admit.lua: the global request-rate bound of one gateway. At most `rate`
-- requests a second go on to the app, counted over a sliding second: this second's count
-- plus the last one's, weighted by the share of it still inside the window. Only requests
-- let through are counted, so a flood beyond the bound does not shut out the next second.
--
-- Keys in lua_shared_dict couponrush_gateway: "rate:" .. S -> requests let through in
-- second S of the clock (they expire after 2 s).
--
-- admit(rate) -> true when the request may go on

local gateway = ngx.shared.couponrush_gateway
local floor = math.floor

local M = {}

function M.admit(rate)
    local now = ngx.now()
    local second = floor(now)
    local key = "rate:" .. second
    local count = gateway:incr(key, 1, 0, 2)
    local last = gateway:get("rate:" .. (second - 1)) or 0
    if last * (1 - (now - second)) + count <= rate then
        return true
    end
    gateway:incr(key, -1)
    return false
end

return M
