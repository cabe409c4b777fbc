-- couponrush/primary.lua: a connection to the Redis primary for the win lane, from this
-- worker's pool (Debian's lua-nginx-redis, the lua-resty-redis client; its connector
-- package asks the sentinels).
--
-- Standalone: the one server. Sentinel: the primary the first answering sentinel names,
-- remembered by this worker until a connection to it fails or it answers with an error
-- (forget()); the next connection asks again. A new connection logs in with the ACL
-- user and password when set.
--
-- connect(opts) -> the client, or nil and why; opts are couponrush.config's wins
-- keep(client, opts)  back to the pool after a whole exchange
-- forget()      the primary is to be asked for again (sentinel mode)

local redis = require("nginx.redis")
local sentinel = require("nginx.redis.sentinel")

local M = {}

-- The primary this worker uses (sentinel mode), nil until asked.
local host, port

local function ask_sentinels(opts)
    local why = "no sentinel answered"
    for _, address in ipairs(opts.sentinels) do
        local client = redis:new()
        client:set_timeout(opts.timeout_ms)
        local ok, err = client:connect(address[1], address[2])
        if ok then
            local found
            found, err = sentinel.get_master(client, opts.master)
            client:close()
            if found then
                return found.host, tonumber(found.port)
            end
        end
        why = "sentinel " .. address[1] .. ":" .. address[2] .. ": " .. tostring(err)
    end
    return nil, why
end

local function log_in(client, opts)
    if opts.password == "" then
        return true
    end
    if opts.username ~= "" then
        return client:auth(opts.username, opts.password)
    end
    return client:auth(opts.password)
end

function M.connect(opts)
    if #opts.sentinels > 0 and not host then
        local found, found_port = ask_sentinels(opts)
        if not found then
            return nil, found_port
        end
        host, port = found, found_port
    end
    local client = redis:new()
    client:set_timeout(opts.timeout_ms)
    local ok, err = client:connect(host or opts.host, port or opts.port)
    if not ok then
        M.forget()
        return nil, err
    end
    if client:get_reused_times() == 0 then
        ok, err = log_in(client, opts)
        if not ok then
            client:close()
            return nil, "log-in: " .. tostring(err)
        end
    end
    return client
end

function M.keep(client, opts)
    client:set_keepalive(60000, opts.pool)
end

function M.forget()
    host, port = nil, nil
end

return M
