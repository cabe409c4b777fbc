// The storefront: the open and upcoming sales to choose from, remember the user id, count down to the opening and
// claim a coupon, waiting out 429/503 as Retry-After asks, until one final answer.
"use strict";

(() => {
  const MAX_ATTEMPTS = 20;
  const DEADLINE_MS = 60_000;
  const STATUS_TEXT = { scheduled: "Not open yet", open: "Open", sold_out: "Sold out", closed: "Closed", archived: "Over" };
  const $ = (id) => document.getElementById(id);
  const saved = {
    get: (key) => { try { return localStorage.getItem(key); } catch { return null; } },
    set: (key, value) => { try { localStorage.setItem(key, value); } catch { /* private mode */ } },
  };
  let clockOffsetMs = 0; // the server's clock minus ours, from the Date header
  let opensAt = null;
  let shuffled = false; // a shuffled opening: join its queue and wait before claiming
  let claiming = false;

  const now = () => Date.now() + clockOffsetMs;
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function clock(ms) {
    const total = Math.max(0, Math.ceil(ms / 1000));
    const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    const mm = String(m).padStart(h ? 2 : 1, "0"), ss = String(s).padStart(2, "0");
    return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
  }

  function setStatus(state, title, lines = []) {
    const box = $("status");
    box.dataset.state = state;
    const heading = document.createElement("p");
    heading.className = "title";
    heading.textContent = title;
    const rest = lines.map(([kind, text]) => {
      const line = document.createElement("p");
      line.className = kind;
      line.textContent = text;
      return line;
    });
    box.replaceChildren(heading, ...rest);
  }

  function eventFromPath() {
    const match = location.pathname.match(/^\/e\/([^/]+)\/?$/);
    return match ? decodeURIComponent(match[1]) : null;
  }

  function remember(eventId) {
    const recent = (saved.get("couponrush.recent") || "").split(",").filter((e) => e && e !== eventId);
    saved.set("couponrush.recent", [eventId, ...recent].slice(0, 5).join(","));
  }

  function opensText(event) {
    if (event.status === "scheduled" && event.starts_at) {
      return `Opens ${new Date(event.starts_at).toLocaleString()}`;
    }
    if (event.status === "sold_out") return "Sold out";
    return `${event.remaining} of ${event.total_stock} coupons left`;
  }

  async function listSales() {
    const params = new URLSearchParams({ limit: "50" });
    for (const status of ["open", "scheduled", "sold_out"]) params.append("status", status);
    let page;
    try {
      const response = await fetch(`/v1/events?${params}`, { cache: "no-store" });
      if (!response.ok) return; // busy or no list here: the id form still works
      page = await response.json();
    } catch {
      return;
    }
    const items = page.items || [];
    $("no-sales").hidden = items.length > 0;
    $("sales").replaceChildren(...items.map((event) => {
      const link = document.createElement("a");
      link.href = `/e/${encodeURIComponent(event.event_id)}`;
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = event.name;
      const when = document.createElement("span");
      when.className = "when";
      when.textContent = `${STATUS_TEXT[event.status] || event.status} · ${opensText(event)}`;
      link.append(name, when);
      const item = document.createElement("li");
      item.dataset.event = event.event_id;
      item.append(link);
      return item;
    }));
  }

  function showChooser() {
    $("chooser").hidden = false;
    listSales();
    const list = $("recent");
    for (const eventId of (saved.get("couponrush.recent") || "").split(",").filter(Boolean)) {
      const link = document.createElement("a");
      link.href = `/e/${encodeURIComponent(eventId)}`;
      link.textContent = eventId;
      const item = document.createElement("li");
      item.append(link);
      list.append(item);
    }
    $("choose-form").addEventListener("submit", (e) => {
      e.preventDefault();
      location.assign(`/e/${encodeURIComponent($("event-input").value.trim())}`);
    });
    $("event-input").focus();
  }

  async function loadEvent(eventId) {
    let response;
    try {
      response = await fetch(`/v1/events/${encodeURIComponent(eventId)}`, { cache: "no-store" });
    } catch {
      return; // the next refresh tries again
    }
    const date = Date.parse(response.headers.get("Date") || "");
    if (!Number.isNaN(date) && Math.abs(date - Date.now()) > 1500) clockOffsetMs = date - Date.now();
    if (response.status === 429 || response.status === 503) return; // busy: next refresh
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      $("event-name").textContent = response.status === 404 ? "No such sale" : "Sale unavailable";
      if (!claiming) setStatus("error", body.detail || `HTTP ${response.status}`);
      return;
    }
    document.title = `${body.name} · couponrush`;
    $("event-name").textContent = body.name;
    $("remaining").textContent = `${body.remaining} of ${body.total_stock}`;
    $("event-status").textContent = STATUS_TEXT[body.status] || body.status;
    opensAt = body.starts_at ? Date.parse(body.starts_at) : null;
    shuffled = body.opening === "shuffled";
    tick();
  }

  function tick() {
    const countdown = $("countdown");
    const left = opensAt === null ? 0 : opensAt - now();
    if (left > 0) {
      countdown.hidden = false;
      countdown.textContent = `Opens in ${clock(left)}`;
    } else if (!countdown.hidden) {
      countdown.hidden = true;
      loadEvent(eventFromPath());
    }
  }

  async function waitOut(seconds, attempt, status) {
    const until = Date.now() + seconds * 1000;
    const why = status === 429 ? "Busy (too many requests)" : status === 503 ? "Busy" : "No connection";
    while (Date.now() < until) {
      const left = Math.ceil((until - Date.now()) / 1000);
      setStatus("busy", `${why}, retrying in ${left} s`, [["detail", `Try ${attempt + 1} of ${MAX_ATTEMPTS}. Your place is safe: retrying never gives you a second coupon.`]]);
      await sleep(Math.min(250, until - Date.now()));
    }
  }

  async function claim(eventId, userId) {
    const requestId = Retry.requestId("web-");
    const started = Date.now();
    for (let attempt = 0; ; attempt += 1) {
      let status = 0, body = {}, floor = 0;
      try {
        const response = await fetch(`/v1/events/${encodeURIComponent(eventId)}/issue`, {
          method: "POST", cache: "no-store", body: JSON.stringify({ user_id: userId }),
          headers: { "Content-Type": "application/json", "X-Request-ID": requestId },
        });
        status = response.status;
        body = await response.json().catch(() => ({}));
        floor = Retry.retryAfterSeconds(response.headers.get("Retry-After"));
      } catch {
        status = 0; // no answer: a network error
      }
      if (status !== 0 && status !== 429 && status !== 503) return { status, body, attempt };
      const wait = Retry.backoffSeconds(attempt, floor);
      if (attempt + 1 >= MAX_ATTEMPTS || Date.now() + wait * 1000 - started > DEADLINE_MS) {
        return { status, body, attempt, gaveUp: true };
      }
      await waitOut(wait, attempt, status);
    }
  }

  function show({ status, body, attempt, gaveUp }) {
    const tries = attempt ? ` (after ${attempt + 1} tries)` : "";
    const code = ["code", body.coupon_code || ""];
    if (gaveUp) {
      setStatus("gave_up", "Still busy", [["detail", `We tried ${attempt + 1} times. Please try again in a moment.`]]);
    } else if (body.result === "issued") {
      setStatus("issued", "You got a coupon!", [code, ["detail", `Coupon no. ${body.slot}${tries}. Show this code at checkout.`]]);
    } else if (body.result === "already_issued") {
      setStatus("already_issued", "You already have this coupon", [code, ["detail", `No. ${body.slot}: the same code as before.`]]);
    } else if (body.result === "sold_out") {
      setStatus("sold_out", "Sold out", [["detail", "Every coupon of this sale has been claimed."]]);
    } else if (body.result === "not_open") {
      if (body.starts_at) opensAt = Date.parse(body.starts_at);
      setStatus("not_open", "Not open yet", [["detail", "Press again when the countdown ends."]]);
      tick();
    } else if (body.result === "closed") {
      setStatus("closed", "This sale has closed", [["detail", "Coupons can no longer be claimed."]]);
    } else if (body.result === "not_found") {
      setStatus("not_found", "No such sale", [["detail", "Check the address of the sale."]]);
    } else {
      setStatus("error", "That did not work", [["detail", body.detail || `HTTP ${status}`]]);
    }
  }

  function showSale(eventId) {
    remember(eventId);
    $("sale").hidden = false;
    $("event-id").textContent = eventId;
    const user = $("user-input");
    user.value = saved.get("couponrush.user") || "";
    $("claim-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      if (claiming) return;
      claiming = true;
      $("claim").disabled = true;
      saved.set("couponrush.user", user.value.trim());
      setStatus("working", shuffled ? "In the queue…" : "Claiming your coupon…");
      try {
        const queued = shuffled ? await Queue.wait(eventId, user.value.trim()) : { admitted: true };
        if (queued.admitted) setStatus("working", "Claiming your coupon…");
        show(queued.admitted ? await claim(eventId, user.value.trim()) : { ...queued.done, attempt: 0 });
      } finally {
        claiming = false;
        $("claim").disabled = false;
        loadEvent(eventId);
      }
    });
    (user.value ? $("claim") : user).focus();
    loadEvent(eventId);
    setInterval(tick, 250);
    setInterval(() => { if (!claiming && !document.hidden) loadEvent(eventId); }, 5000);
  }

  const eventId = eventFromPath();
  if (eventId) showSale(eventId); else showChooser();
})();
