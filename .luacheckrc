-- luacheck's settings for the project's Lua (make lint): the gateway's code runs in
-- nginx's Lua module, the scripts in Redis, the benchmarks' scripts in wrk.
std = "ngx_lua"
max_line_length = 100

files["src/couponrush/store/lua"] = {
    std = "lua51",
    read_globals = { "redis", "KEYS", "ARGV" },
}

-- wrk calls these functions of a script, and gives it `wrk`; a script's own state
-- lives in globals that wrk keeps per thread.
files["bench"] = {
    std = "luajit",
    read_globals = { "wrk", "tid" }, -- tid: each thread's number, set by setup()
    allow_defined = true,
    ignore = { "131", "212" }, -- the callbacks wrk calls, with the arguments it passes
}
