-- couponrush/config.lua: the gateway's Lua options, set once by configure() in
-- init_by_lua (lua/gateway.conf.template renders them from the settings) and read by the
-- other modules in every worker.
--
--   edge      the sold-out edge answers (setting edge_answers); off: it neither polls nor
--             answers, and every issue request goes to the app
--   poll_ms   how often one worker polls the app's sold-out feed (edge_poll_ms)
--   lease_ms  how long a verified sold-out state may be answered from (soldout_lease_ms)
--   feed      "unix:PATH" of the gateway's own feed listener
--   rate      the global request-rate bound: requests per second passed on to the app
--             (0: no bound)
--   retry_after, retry_spread  the Retry-After of its 503: retry_after_s plus 0 to
--             retry_after_spread_s seconds
--   wins      the win lane (couponrush.lane; stack/lane.py renders it): on; where Redis
--             is (host, port; or sentinels, a list of {host, port}, and master); username,
--             password; timeout_ms, pool (idle connections kept per worker); sha
--             (issue.lua's), tally_sha (count_results.lua's); keys, barrier, results,
--             bucket (string.format templates of the event's key names, store/keys.py);
--             buckets (whether the per-user limit is on), rate,
--             burst; wait, wait_ms (WAIT after each run: replicas, timeout; 0: none);
--             batch (users per run at most); secret (the coupon secret)

local M = {
    edge = false,
    poll_ms = 200,
    lease_ms = 2000,
    feed = "",
    rate = 0,
    retry_after = 1,
    retry_spread = 0,
    wins = { on = false },
}

function M.set(opts)
    for key, value in pairs(opts) do
        if M[key] == nil or type(M[key]) ~= type(value) then
            error("couponrush: bad gateway option " .. tostring(key))
        end
        M[key] = value
    end
    if M.edge and M.poll_ms * 2 > M.lease_ms then
        error("couponrush: poll_ms must be at most half of lease_ms")
    end
end

return M
