-- couponrush/lang.lua: the language of an answer the gateway makes itself, from the
-- request's Accept-Language: "ko" or "en", by the app's one rule (web/i18n.py): Korean when
-- the first listed range that is Korean or English with a q above 0 is Korean; English
-- otherwise (no header, or one over 256 characters). The expression is the app's and the
-- gateway map's $couponrush_lang, character for character (a test holds them equal).
--
-- pick(header) -> "ko" | "en"    header: the Accept-Language value, or nil

local find = ngx.re.find

local KOREAN_FIRST = [[^(?=.{0,256}$)(?:(?:(?!\s*(?:ko|en)\b)[^,]*|\s*(?:ko|en)\b[^,;]*;\s*q\s*=\s*0(?:\.0*)?\s*),)*\s*ko\b[^,;]*(?:;\s*q\s*=\s*(?!0(?:\.0*)?\s*(?:,|$))[0-9.]*\s*)?(?:,|$)]] -- luacheck: ignore 631

local M = {}

-- Header -> language, per worker: clients send a handful of distinct values. Bounded.
local picked, count = {}, 0
local MAX = 1024

function M.pick(header)
    if header == nil then
        return "en"
    end
    local lang = picked[header]
    if not lang then
        lang = find(header, KOREAN_FIRST, "joi") and "ko" or "en"
        if count >= MAX then
            picked, count = {}, 0
        end
        picked[header] = lang
        count = count + 1
    end
    return lang
end

return M
