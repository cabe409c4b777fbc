-- couponrush/coupon.lua: a win's answer, byte for byte as the app's issue route sends it
-- (web/replies.win_body, serialized by orjson): its coupon code and issued_at.
--
-- code(event_id, slot, user_id) -> core/codes.CodeSigner's code: HMAC-SHA256 of
--     "E\x1fslot\x1fuser" under the coupon secret (OpenSSL's HMAC, which nginx links, keyed
--     once as the app keys it once), its first 10 bytes in base32, in four groups of four
-- body(result, event_id, user_id, slot, issued_at_ms) -> the JSON body
-- set_secret(secret)   init_by_lua: the coupon secret

local ffi = require("ffi")

local floor = math.floor
local concat, sub = table.concat, string.sub

pcall(ffi.cdef, [[
const void *EVP_sha256(void);
void *HMAC_CTX_new(void);
int HMAC_Init_ex(void *ctx, const void *key, int len, const void *md, void *impl);
int HMAC_Update(void *ctx, const unsigned char *data, size_t len);
int HMAC_Final(void *ctx, unsigned char *md, unsigned int *len);
]])

local C = ffi.C
local M = {}

-- Keyed once (set_secret, in init_by_lua: each worker inherits its own copy); each code
-- starts again from the key's state (HMAC_Init_ex without a key keeps it).
local keyed = nil
local digest = ffi.new("unsigned char[64]")
local digest_len = ffi.new("unsigned int[1]")
local ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
local letters = {}
for i = 1, 32 do
    letters[i - 1] = sub(ALPHABET, i, i)
end

function M.set_secret(value)
    keyed = C.HMAC_CTX_new()
    if keyed == nil or C.HMAC_Init_ex(keyed, value, #value, C.EVP_sha256(), nil) ~= 1 then
        error("couponrush: the coupon secret could not key HMAC-SHA256")
    end
end

-- The first 10 bytes of the digest in base32: two groups of 40 bits, 8 letters each
-- (exact in a double).
local function base32_10()
    local out = {}
    for group = 0, 1 do
        local n = 0
        for i = 0, 4 do
            n = n * 256 + digest[group * 5 + i]
        end
        for j = 8, 1, -1 do
            local letter = n % 32
            out[group * 8 + j] = letters[letter]
            n = (n - letter) / 32
        end
    end
    local text = concat(out)
    return sub(text, 1, 4) .. "-" .. sub(text, 5, 8) .. "-" .. sub(text, 9, 12) .. "-"
        .. sub(text, 13, 16)
end

function M.code(event_id, slot, user_id)
    local message = event_id .. "\31" .. slot .. "\31" .. user_id
    if C.HMAC_Init_ex(keyed, nil, 0, nil, nil) ~= 1
        or C.HMAC_Update(keyed, message, #message) ~= 1
        or C.HMAC_Final(keyed, digest, digest_len) ~= 1 then
        error("couponrush: HMAC-SHA256 failed")
    end
    return base32_10()
end

-- RFC 3339 UTC with milliseconds (core/event.rfc3339_ms); the second's text is kept, as
-- most wins of a rush share it.
local last_second, last_text = -1, ""

local function rfc3339_ms(ms)
    local second = floor(ms / 1000)
    if second ~= last_second then
        last_second, last_text = second, os.date("!%Y-%m-%dT%H:%M:%S", second)
    end
    local milli = ms - second * 1000
    return last_text .. (milli < 10 and ".00" or milli < 100 and ".0" or ".") .. milli .. "Z"
end

-- Ids are within EVENT_ID_RE and USER_ID_RE, so nothing in them needs a JSON escape.
function M.body(result, event_id, user_id, slot, issued_at_ms)
    return '{"result":"' .. result .. '","event_id":"' .. event_id .. '","user_id":"'
        .. user_id .. '","slot":' .. slot .. ',"coupon_code":"'
        .. M.code(event_id, slot, user_id) .. '","issued_at":"' .. rfc3339_ms(issued_at_ms)
        .. '"}'
end

return M
