// A shuffled opening's queue on the storefront (docs/fair-opening.md): join (a refresh
// joins again and keeps the place), then poll the one state document every poll_s, show
// the position, the estimated wait, the commitment and, from the opening, the seed with a
// link to check the order; resolve once admitted, or with the answer that ends the wait.
"use strict";

const Queue = (() => {
  const $ = (id) => document.getElementById(id);
  const { t } = I18n;
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function call(path, options = {}) {
    try {
      const response = await fetch(path, { cache: "no-store", ...options, headers: { ...I18n.headers, ...(options.headers || {}) } });
      const body = await response.json().catch(() => ({}));
      return { status: response.status, body, retryAfter: Retry.retryAfterSeconds(response.headers.get("Retry-After")) };
    } catch {
      return { status: 0, body: {}, retryAfter: 0 };
    }
  }

  // A hashcash nonce: SHA-1 of "commitment:user:nonce" with `bits` leading zero bits.
  async function solve(commitment, user, bits) {
    for (let n = 0; ; n += 1) {
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode(`${commitment}:${user}:${n}`)));
      let zeros = 0;
      for (const byte of digest) {
        if (byte) { zeros += Math.clz32(byte) - 24; break; }
        zeros += 8;
      }
      if (zeros >= bits) return String(n);
    }
  }

  // The waves still to come before `position` (unknown before the opening: the end's).
  function waitOf(position, state) {
    if (position == null) return state.estimated_wait_s;
    const waves = Math.ceil((position - state.admitted_upto) / state.admit_per_wave);
    return Math.max(0, waves) * state.admit_every_s;
  }

  function show(eventId, place, state) {
    $("queue").hidden = false;
    $("queue-position").textContent = place.position == null ? t("storefront.queue_drawn") : t("storefront.queue_position", { position: I18n.number(place.position), enrolled: I18n.number(state.enrolled) });
    $("queue-wait").textContent = state.sold_out ? "–" : t("storefront.queue_about", { seconds: I18n.number(Math.ceil(place.wait)) });
    $("queue-commitment").textContent = state.commitment;
    $("queue-seed").textContent = state.seed || t("storefront.queue_unrevealed");
    $("queue-verify").hidden = !state.seed;
    $("queue-verify").href = `/verify/${encodeURIComponent(eventId)}`;
  }

  async function join(eventId, userId) {
    const base = `/v1/events/${encodeURIComponent(eventId)}/queue`;
    const first = await call(`${base}/state`);
    if (first.status !== 200) return { done: first };
    const state = first.body;
    const proof = state.proof_bits ? await solve(state.commitment, userId, state.proof_bits) : undefined;
    for (;;) {
      const joined = await call(base, {
        method: "POST", body: JSON.stringify({ user_id: userId, proof }), headers: { "Content-Type": "application/json" },
      });
      if (joined.status === 200 || joined.status === 201) return { place: joined.body, state };
      if (joined.status !== 429 && joined.status !== 503 && joined.status !== 0) return { done: joined };
      await sleep(Math.max(1, joined.retryAfter) * 1000);
    }
  }

  // Resolves {admitted: true}, or {done: answer} with the answer that ends the wait.
  async function wait(eventId, userId) {
    const joined = await join(eventId, userId);
    if (joined.done) return joined;
    const base = `/v1/events/${encodeURIComponent(eventId)}/queue`;
    let state = joined.state;
    const place = { position: joined.place.position, wait: joined.place.estimated_wait_s };
    for (;;) {
      show(eventId, place, state);
      if (state.sold_out) return { done: { status: 410, body: { result: "sold_out" } } };
      if (place.position != null && place.position <= state.admitted_upto) return { admitted: true };
      await sleep((state.poll_s || 1) * 1000);
      const polled = await call(`${base}/state`);
      if (polled.status !== 200) continue; // busy: the next poll
      state = polled.body;
      if (place.position == null && state.seed) {
        const mine = await call(`${base}/${encodeURIComponent(userId)}`);
        if (mine.status === 200) place.position = mine.body.position;
        else if (mine.status !== 429 && mine.status !== 503 && mine.status !== 0) return { done: mine };
      }
      place.wait = waitOf(place.position, state);
    }
  }

  return { wait, solve };
})();
