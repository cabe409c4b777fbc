// The verify page (/verify/<event>): recompute a shuffled opening's order in the browser
// from what the event published (docs/fair-opening.md): SHA-256 of the revealed seed must
// be the commitment, and the pre-queue's tickets sorted by HMAC-SHA256(seed, ticket) must
// be the order served. The same check as `couponrush queue verify`.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const { t } = I18n;
  const answer = (ok) => t(ok ? "verify.yes" : "verify.no");
  const utf8 = (text) => new TextEncoder().encode(text);
  const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
  const bytes = (text) => new Uint8Array(text.match(/../g).map((h) => parseInt(h, 16)));

  function line(text) {
    const item = document.createElement("li");
    item.textContent = text;
    $("checks").append(item);
  }

  async function recompute(seed, tickets) {
    const key = await crypto.subtle.importKey("raw", bytes(seed), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const keyed = await Promise.all(tickets.map(async (t) => [hex(await crypto.subtle.sign("HMAC", key, utf8(t))), t]));
    return keyed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, t]) => t);
  }

  async function check(eventId) {
    const response = await fetch(`/v1/events/${encodeURIComponent(eventId)}/queue/order`, { cache: "no-store", headers: I18n.headers });
    const order = await response.json().catch(() => ({}));
    if (!response.ok) {
      $("verdict").dataset.state = "unavailable";
      $("verdict").textContent = order.detail || t("common.http_status", { status: response.status });
      return;
    }
    $("seed").textContent = order.seed;
    $("commitment").textContent = order.commitment;
    const committed = hex(await crypto.subtle.digest("SHA-256", bytes(order.seed))) === order.commitment;
    line(t("verify.commitment_ok", { answer: answer(committed) }));
    const again = await recompute(order.seed, order.prequeue);
    const differs = again.findIndex((t, i) => t !== order.prequeue[i]);
    const inOrder = differs < 0 ? answer(true) : t("verify.differs", { place: I18n.number(differs + 1) });
    line(t("verify.order_ok", { count: I18n.number(order.prequeue.length), answer: inOrder }));
    line(t("verify.late", { count: I18n.number(order.late.length) }));
    const user = (() => { try { return localStorage.getItem("couponrush.user"); } catch { return null; } })();
    if (user) {
      const mine = hex(await crypto.subtle.digest("SHA-256", utf8(`${eventId}:${user}`)));
      const at = [...order.prequeue, ...order.late].indexOf(mine);
      line(at < 0 ? t("verify.user_absent", { user }) : t("verify.user_place", { user, position: I18n.number(at + 1) }));
    }
    const ok = committed && differs < 0;
    $("verdict").dataset.state = ok ? "verified" : "failed";
    $("verdict").textContent = t(ok ? "verify.verified" : "verify.failed");
  }

  const match = location.pathname.match(/^\/verify\/([^/]+)\/?$/);
  const eventId = match ? decodeURIComponent(match[1]) : "";
  $("event-id").textContent = eventId;
  check(eventId);
})();
