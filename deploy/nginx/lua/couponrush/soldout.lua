-- couponrush/soldout.lua: the edge's state, in lua_shared_dict couponrush_edge.
--
--   "so:" .. E  ->  FP .. "\t" .. verified_ms     E is sold out with fingerprint FP, as a
--                                                 poll sent at verified_ms (the monotonic
--                                                 clock) found it
--   "wl:" .. E  ->  FP .. "\n" .. user1 .. "\n" .. user2 ...   the winners of FP
--   "an:" .. E  ->  FP .. "\n" .. lang .. "\t" .. body .. "\n" ...   the app's 410 body
--                                                 of E in each language (one line each)
--
-- Written by the poller only (couponrush.feed), winners and answers before the flag that
-- points at them, and with safe_set: nothing live is ever evicted, an event that does not
-- fit is simply not answered at the edge. Each worker turns a winners list into a Lua set
-- (and the answers into a table) once per fingerprint. A flag whose FP differs from its
-- winners' or answers' (mid-swap) is not used.

local state = ngx.shared.couponrush_edge
local find, sub, concat = string.find, string.sub, table.concat

local M = {}

-- E -> { fp = FP, set = { [user] = true } }, per worker
local sets = {}
-- E -> { fp = FP, bodies = { [lang] = body } }, per worker
local answers = {}

-- The flag of E: its fingerprint and verified time, or nil.
function M.flag(e)
    local flag = state:get("so:" .. e)
    if not flag then
        return nil
    end
    local tab = find(flag, "\t", 1, true)
    return sub(flag, 1, tab - 1), tonumber(sub(flag, tab + 1))
end

local function parse(blob)
    local set = {}
    local pos, len = find(blob, "\n", 1, true), #blob
    while pos and pos < len do
        local stop = find(blob, "\n", pos + 1, true) or (len + 1)
        set[sub(blob, pos + 1, stop - 1)] = true
        pos = stop
    end
    return set
end

-- The winners of E as a set, if they are those of fingerprint FP; else nil (not sure).
function M.winners(e, fp)
    local cached = sets[e]
    if cached and cached.fp == fp then
        return cached.set
    end
    local blob = state:get("wl:" .. e)
    if not blob or sub(blob, 1, #fp + 1) ~= fp .. "\n" and blob ~= fp then
        return nil
    end
    local set = parse(blob)
    sets[e] = { fp = fp, set = set }
    return set
end

-- The app's 410 body of E in language LANG, if it is that of fingerprint FP; else nil.
function M.answer(e, fp, lang)
    local cached = answers[e]
    if not cached or cached.fp ~= fp then
        local blob = state:get("an:" .. e)
        if not blob or sub(blob, 1, #fp + 1) ~= fp .. "\n" then
            return nil
        end
        local bodies = {}
        for line in blob:sub(#fp + 2):gmatch("[^\n]+") do
            local tab = find(line, "\t", 1, true)
            if tab then
                bodies[sub(line, 1, tab - 1)] = sub(line, tab + 1)
            end
        end
        cached = { fp = fp, bodies = bodies }
        answers[e] = cached
    end
    return cached.bodies[lang]
end

local function answers_blob(fp, bodies)
    local lines = { fp }
    for lang, body in pairs(bodies or {}) do
        if type(lang) == "string" and type(body) == "string" and not find(body, "\n", 1, true) then
            lines[#lines + 1] = lang .. "\t" .. body
        end
    end
    return concat(lines, "\n")
end

-- Store a sold-out state: its winners and answers (lang -> the app's 410 body), then the
-- flag. False (and E dropped) without room.
function M.store(e, fp, users, verified_ms, bodies)
    local blob = #users > 0 and (fp .. "\n" .. concat(users, "\n")) or fp
    local ok, err = state:safe_set("wl:" .. e, blob)
    if ok then
        ok, err = state:safe_set("an:" .. e, answers_blob(fp, bodies))
    end
    if ok then
        ok, err = state:safe_set("so:" .. e, fp .. "\t" .. verified_ms)
    end
    if not ok then
        M.drop(e)
        return false, err
    end
    return true
end

-- Verified again at verified_ms; false when the edge holds another fingerprint (or none).
function M.refresh(e, fp, verified_ms)
    local held = M.flag(e)
    if held ~= fp then
        return false
    end
    return (state:safe_set("so:" .. e, fp .. "\t" .. verified_ms))
end

function M.drop(e)
    state:delete("so:" .. e)
    state:delete("wl:" .. e)
    state:delete("an:" .. e)
end

-- Every event with a flag, live or lapsed.
function M.events()
    local found = {}
    for _, key in ipairs(state:get_keys(0)) do
        if sub(key, 1, 3) == "so:" then
            found[#found + 1] = sub(key, 4)
        end
    end
    return found
end

return M
