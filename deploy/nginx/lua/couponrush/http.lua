-- couponrush/http.lua: the one HTTP client the gateway's Lua needs, for the poller: a GET
-- over HTTP/1.1 to a Unix socket, answers framed by Content-Length, connections kept
-- alive. (Timers may not use subrequests; Debian ships no lua-resty-http.)
--
-- get(addr, path, timeout_ms) -> status, body | nil, error
--   addr is "unix:/path.sock"

local M = {}

local function fail(sock, err)
    sock:close()
    return nil, err
end

local function read_head(sock)
    local line, err = sock:receive("*l")
    if not line then
        return nil, err
    end
    local status = tonumber(line:match("^HTTP/1%.%d (%d%d%d)"))
    local length
    while true do
        local header, herr = sock:receive("*l")
        if not header then
            return nil, herr
        end
        if header == "" then
            break
        end
        local name, value = header:match("^([^:]+):%s*(.-)%s*$")
        if name and name:lower() == "content-length" then
            length = tonumber(value)
        end
    end
    if not status or not length then
        return nil, "answer without status or Content-Length"
    end
    return status, length
end

function M.get(addr, path, timeout_ms)
    local sock = ngx.socket.tcp()
    sock:settimeout(timeout_ms)
    local ok, err = sock:connect(addr)
    if not ok then
        return nil, err
    end
    ok, err = sock:send("GET " .. path .. " HTTP/1.1\r\nHost: couponrush-gateway\r\n\r\n")
    if not ok then
        return fail(sock, err)
    end
    local status, length = read_head(sock)
    if not status then
        return fail(sock, length)
    end
    local body, berr = sock:receive(length)
    if not body then
        return fail(sock, berr)
    end
    sock:setkeepalive(10000, 2)
    return status, body
end

return M
