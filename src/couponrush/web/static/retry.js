// How the pages wait before trying again: never sooner than the server's Retry-After
// (seconds or an HTTP-date), plus full jitter over a window that grows from BASE_S, is
// at least the Retry-After and at most CAP_S. The same rule as couponrush.core.retry.
"use strict";

const Retry = (() => {
  const BASE_S = 0.05;
  const CAP_S = 2.0;

  function retryAfterSeconds(value) {
    if (!value) return 0;
    const text = value.trim();
    if (/^\d+$/.test(text)) return Number(text);
    const at = Date.parse(text);
    return Number.isNaN(at) ? 0 : Math.max(0, (at - Date.now()) / 1000);
  }

  function backoffSeconds(attempt, floor) {
    const window = Math.min(CAP_S, Math.max(floor, BASE_S * 2 ** attempt));
    return floor + Math.random() * window;
  }

  function requestId(prefix) {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  return { retryAfterSeconds, backoffSeconds, requestId };
})();
