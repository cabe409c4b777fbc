-- couponrush/run.lua: one run of issue.lua in its "wins" mode for a group of the win
-- lane's calls of one event (couponrush.lane), at the primary (couponrush.primary), with
-- the barrier write and WAIT after it when replicas must confirm (as store/batcher.py
-- ends its pipelines).
--
-- send(e, group, opts) -> one reply per call of the group: {"ISSUED", slot, ms},
--     {"DUPLICATE", slot, ms} or {"PASS"}; or nil and why (an error reply, a connection
--     or timeout, the replicas not confirming). group: n calls, args (user_id,
--     request_id, …); opts: couponrush.config's wins

local primary = require("couponrush.primary")
local lrucache = require("resty.lrucache")

local format, find, sub, unpack = string.format, string.find, string.sub, unpack

local M = {}

-- event id -> issue.lua's KEYS (without buckets) and the barrier key, for the events seen
-- last: made-up event ids cannot make it grow
local keys_by_event = assert(lrucache.new(1024))

local function keys_of(e, opts)
    local found = keys_by_event:get(e)
    if not found then
        found = { barrier = format(opts.barrier, e) }
        for i, template in ipairs(opts.keys) do
            found[i] = format(template, e)
        end
        keys_by_event:set(e, found)
    end
    return found
end

local function script_call(e, group, opts)
    local keys = keys_of(e, opts)
    local argv = { opts.sha, 0, unpack(keys) }
    if opts.buckets then
        for i = 1, group.n do
            argv[#argv + 1] = format(opts.bucket, e, group.args[2 * i - 1])
        end
    end
    argv[2] = #argv - 2
    argv[#argv + 1] = opts.rate
    argv[#argv + 1] = opts.burst
    argv[#argv + 1] = "wins"
    for i = 1, 2 * group.n do
        argv[#argv + 1] = group.args[i]
    end
    return argv, keys.barrier
end

-- issue.lua's "wins" reply, one string, as one reply per user: {"ISSUED", slot, ms},
-- {"DUPLICATE", slot, ms} or {"PASS"}.
local KINDS = { I = "ISSUED", D = "DUPLICATE" }
local PASS = { "PASS" }

local function expand(compact, n)
    local replies, from = {}, 1
    for i = 1, n do
        local comma = find(compact, ",", from, true) or #compact + 1
        local kind = KINDS[sub(compact, from, from)]
        if kind then
            local colon = find(compact, ":", from, true)
            replies[i] = { kind, tonumber(sub(compact, from + 1, colon - 1)),
                tonumber(sub(compact, colon + 1, comma - 1)) }
        else
            replies[i] = PASS
        end
        from = comma + 1
    end
    return replies
end

-- True when the barrier write went through and WAIT counted enough replicas.
local function confirmed(found, opts)
    return opts.wait == 0
        or (type(found[2]) == "number" and type(found[3]) == "number" and found[3] >= opts.wait)
end

-- The script's replies for the group, or nil and why.
function M.send(e, group, opts)
    local client, err = primary.connect(opts)
    if not client then
        return nil, err
    end
    local argv, barrier = script_call(e, group, opts)
    client:init_pipeline(3)
    client:evalsha(unpack(argv))
    if opts.wait > 0 then
        client:incr(barrier)
        client:wait(opts.wait, opts.wait_ms)
    end
    local found
    found, err = client:commit_pipeline()
    if not found then
        client:close()
        primary.forget()
        return nil, err
    end
    primary.keep(client, opts)
    local compact = found[1]
    if type(compact) == "table" then -- an error reply: NOSCRIPT, READONLY, NOREPLICAS, …
        -- A primary that failed over and came back as a replica answers NOSCRIPT (its
        -- script cache is empty) before READONLY: after any error, ask again.
        primary.forget()
        return nil, compact[2]
    end
    if not confirmed(found, opts) then
        return nil, "the replicas did not confirm in time"
    end
    return expand(compact, group.n)
end

return M
