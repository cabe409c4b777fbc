-- couponrush/tally.lua: the win lane's answers, added to each event's tally of issue
-- answers for the dashboard's results mix (store/results.py), as every app worker adds
-- its own: about once a second, one count_results.lua run per event, from each nginx
-- worker. Counts that could not be added (Redis away) wait for the next round; past
-- MAX_EVENTS events they are dropped, never kept to grow.
--
-- add(e, result, n)   counts n answers of the lane (1 when nil)
-- start()          init_worker: the round every second

local config = require("couponrush.config")
local primary = require("couponrush.primary")

local M = {}

local MAX_EVENTS = 1000
-- event id -> { result -> answers not yet added }
local pending, events = {}, 0

function M.add(e, result, n)
    local per = pending[e]
    if not per then
        if events >= MAX_EVENTS then
            return
        end
        per = {}
        pending[e], events = per, events + 1
    end
    per[result] = (per[result] or 0) + (n or 1)
end

-- The events whose counts were not added, or nil and why none were.
local function send(opts, taken)
    local client, err = primary.connect(opts)
    if not client then
        return nil, err
    end
    local order = {}
    client:init_pipeline()
    for e, per in pairs(taken) do
        order[#order + 1] = e
        local argv = { opts.tally_sha, 2, string.format(opts.keys[3], e),
            string.format(opts.results, e) }
        for result, n in pairs(per) do
            argv[#argv + 1] = result
            argv[#argv + 1] = n
        end
        client:evalsha(unpack(argv))
    end
    local replies
    replies, err = client:commit_pipeline()
    if not replies then
        client:close()
        return nil, err
    end
    primary.keep(client, opts)
    local failed = {}
    for i, reply in ipairs(replies) do
        if type(reply) == "table" and reply[1] == false then -- NOSCRIPT: Redis restarted
            failed[order[i]] = taken[order[i]]
        end
    end
    return failed
end

local function keep(taken)
    for e, per in pairs(taken) do
        for result, n in pairs(per) do
            M.add(e, result, n)
        end
    end
end

local function round(premature)
    if premature or events == 0 then
        return
    end
    local taken = pending
    pending, events = {}, 0
    local ok, failed, err = pcall(send, config.wins, taken)
    if ok and failed then
        keep(failed)
    else
        ngx.log(ngx.WARN, "couponrush win lane tally, kept for the next round: ", failed or err)
        keep(taken)
    end
end

function M.start()
    assert(ngx.timer.every(1, round))
end

return M
