#!/bin/sh
# Renders the gateway's templates from the environment into STATE_DIR, then runs nginx
# in the foreground (with --render-only it stops after rendering). A placeholder without
# a value stops it: nginx never starts on a config with a blank where a limit or an
# address should be.
set -eu
share=${GATEWAY_SHARE:-/usr/share/couponrush-gateway}
mkdir -p "$STATE_DIR"

render() {  # TEMPLATE OUTPUT: fills the template's own ${NAME}s, and only those
    names=$(grep -o '\${[A-Z][A-Z0-9_]*}' "$1" | tr -d '${}' | sort -u)
    for name in $names; do
        if ! eval "[ -n \"\${$name+set}\" ]"; then
            echo "couponrush-gateway: $name is not set (docs/deployment.md)" >&2
            exit 64
        fi
    done
    # shellcheck disable=SC2046,SC2086
    envsubst "$(printf '${%s} ' $names)" <"$1" >"$2"
}

# What follows from the identity mode (as couponrush.stack.nginx decides for the local
# stack): with signed identity (AUTH=jwt, the default) an issue request without a bearer
# token is refused here, and the sold-out edge answers nothing itself: it cannot verify
# whose token it holds, so it passes the request on to the app, which can.
if [ "${AUTH:-jwt}" = none ]; then
    : "${REQUIRE_TOKEN:=0}" "${EDGE_ANSWERS:=true}"
else
    REQUIRE_TOKEN=1 EDGE_ANSWERS=false
fi
# TRUSTED_PROXIES (comma-separated CIDRs) become set_real_ip_from lines.
if [ -z "${REAL_IP_FROM+set}" ]; then
    REAL_IP_FROM="# no trusted proxies: X-Forwarded-For is ignored"
    for cidr in $(echo "${TRUSTED_PROXIES:-}" | tr ',' ' '); do
        REAL_IP_FROM="$REAL_IP_FROM
    set_real_ip_from $cidr;"
    done
fi
# TLS from a mounted certificate (Kubernetes: a Secret): LISTEN is then the TLS port, with
# HSTS on every answer, and HTTP_PORT answers nothing but a redirect to it.
if [ -n "${TLS_CERT:-}" ]; then
    SERVER_TLS="ssl_certificate $TLS_CERT; ssl_certificate_key ${TLS_KEY:?TLS_KEY}; ssl_protocols TLSv1.2 TLSv1.3; add_header Strict-Transport-Security \"max-age=31536000; includeSubDomains\" always;"
    LISTEN="$LISTEN ssl"
    HTTP_REDIRECT="server { listen ${HTTP_PORT:-8080}; server_name _; location = /gateway/healthz { return 200 '{\"result\":\"ok\"}'; } location / { return 308 https://\$host\$request_uri; } }"
else
    SERVER_TLS="# no TLS here: a load balancer or the host terminates it"
    HTTP_REDIRECT="# plain HTTP: no redirect"
fi
# The win lane (docs/gateway.md) is the local stack's: this image carries no Redis client.
[ -n "${WINS+set}" ] || WINS='{ on = false }'
export REQUIRE_TOKEN EDGE_ANSWERS REAL_IP_FROM SERVER_TLS HTTP_REDIRECT LISTEN WINS

# The Lua side goes into its own file, included by the whole config's LUA_HTTP.
if [ -z "$LUA" ]; then
    LUA_HTTP="include $STATE_DIR/lua.conf;"
    export LUA_HTTP
    render "$share/lua/gateway.conf.template" "$STATE_DIR/lua.conf"
fi
render "$share/couponrush.conf.template" "$STATE_DIR/nginx.conf"
if [ "${1:-}" = --render-only ]; then
    exit 0
fi
exec nginx -c "$STATE_DIR/nginx.conf" -e stderr -g "daemon off;" "$@"
