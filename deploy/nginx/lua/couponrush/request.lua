-- couponrush/request.lua: requests nginx accepts but the app's server (granian) refuses
-- with an empty answer of its own; refused here, where the answer is a JSON problem.
--
-- too_many_headers() -> true for more header lines than the app's server takes (it
--                       refuses over 100 with an empty 431; nginx adds up to three)
-- bad_header_bytes() -> true when a header value holds a control character other than
--                       HTAB (nginx itself refuses NUL, CR and LF; granian the rest)

local re_find = ngx.re.find

local M = {}

-- 90 lines take at least 360 bytes ("a:" CRLF each): shorter requests are not counted.
local MAX_HEADERS, MIN_BYTES = 90, 360
-- Within a header line: the raw header may end with bytes past its last line end.
local CONTROL = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f](?=[^\\n]*\\n)"

function M.too_many_headers()
    if tonumber(ngx.var.request_length) <= MIN_BYTES then
        return false
    end
    local _, truncated = ngx.req.get_headers(MAX_HEADERS)
    return truncated == "truncated"
end

function M.bad_header_bytes()
    local from, _, err = re_find(ngx.req.raw_header(true), CONTROL, "jo")
    if err then
        error(err)
    end
    return from ~= nil
end

return M
