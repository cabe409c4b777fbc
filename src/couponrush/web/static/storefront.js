// The storefront: the open and upcoming sales to choose from, remember the user id, count down to the opening and
// claim a coupon, waiting out 429/503 as Retry-After asks, until one final answer.
"use strict";

(() => {
  const MAX_ATTEMPTS = 20;
  const DEADLINE_MS = 60_000;
  const { t } = I18n;
  const statusText = (status) => (status ? t(`event_status.${status}`) : status);
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
      return t("storefront.opens_at", { when: I18n.dateTime(event.starts_at) });
    }
    if (event.status === "sold_out") return statusText("sold_out");
    return t("storefront.left_of_total", { remaining: I18n.number(event.remaining), total: I18n.number(event.total_stock) });
  }

  async function listSales() {
    const params = new URLSearchParams({ limit: "50" });
    for (const status of ["open", "scheduled", "sold_out"]) params.append("status", status);
    let page;
    try {
      const response = await fetch(`/v1/events?${params}`, { cache: "no-store", headers: I18n.headers });
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
      when.textContent = t("storefront.sale_line", { status: statusText(event.status), when: opensText(event) });
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
      response = await fetch(`/v1/events/${encodeURIComponent(eventId)}`, { cache: "no-store", headers: I18n.headers });
    } catch {
      return; // the next refresh tries again
    }
    const date = Date.parse(response.headers.get("Date") || "");
    if (!Number.isNaN(date) && Math.abs(date - Date.now()) > 1500) clockOffsetMs = date - Date.now();
    if (response.status === 429 || response.status === 503) return; // busy: next refresh
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      $("event-name").textContent = t(response.status === 404 ? "storefront.no_such_sale" : "storefront.sale_unavailable");
      if (!claiming) setStatus("error", body.detail || t("common.http_status", { status: response.status }));
      return;
    }
    document.title = t("storefront.event_title", { name: body.name });
    $("event-name").textContent = body.name;
    $("remaining").textContent = t("storefront.remaining", { remaining: I18n.number(body.remaining), total: I18n.number(body.total_stock) });
    $("event-status").textContent = statusText(body.status);
    opensAt = body.starts_at ? Date.parse(body.starts_at) : null;
    shuffled = body.opening === "shuffled";
    tick();
  }

  function tick() {
    const countdown = $("countdown");
    const left = opensAt === null ? 0 : opensAt - now();
    if (left > 0) {
      countdown.hidden = false;
      countdown.textContent = t("storefront.opens_in", { clock: clock(left) });
    } else if (!countdown.hidden) {
      countdown.hidden = true;
      loadEvent(eventFromPath());
    }
  }

  async function waitOut(seconds, attempt, status) {
    const until = Date.now() + seconds * 1000;
    const why = t(status === 429 ? "storefront.busy_rate" : status === 503 ? "storefront.busy" : "storefront.offline");
    while (Date.now() < until) {
      const left = Math.ceil((until - Date.now()) / 1000);
      const detail = t("storefront.try_of", { attempt: I18n.number(attempt + 1), max: I18n.number(MAX_ATTEMPTS) });
      setStatus("busy", t("storefront.retrying", { why, seconds: I18n.number(left) }), [["detail", detail]]);
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
          headers: { ...I18n.headers, "Content-Type": "application/json", "X-Request-ID": requestId },
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
    const tries = attempt ? I18n.plural("storefront.after_tries", attempt + 1) : "";
    const code = ["code", body.coupon_code || ""];
    const slot = I18n.number(body.slot);
    const final = (state) => setStatus(state, t(`storefront.${state}_title`), [["detail", t(`storefront.${state}_detail`)]]);
    if (gaveUp) {
      setStatus("gave_up", t("storefront.gave_up_title"), [["detail", I18n.plural("storefront.gave_up_detail", attempt + 1)]]);
    } else if (body.result === "issued") {
      setStatus("issued", t("storefront.issued_title"), [code, ["detail", t("storefront.issued_detail", { slot, tries })]]);
    } else if (body.result === "already_issued") {
      setStatus("already_issued", t("storefront.already_title"), [code, ["detail", t("storefront.already_detail", { slot })]]);
    } else if (["sold_out", "closed", "not_found"].includes(body.result)) {
      final(body.result);
    } else if (body.result === "not_open") {
      if (body.starts_at) opensAt = Date.parse(body.starts_at);
      final("not_open");
      tick();
    } else {
      setStatus("error", t("storefront.error_title"), [["detail", body.detail || t("common.http_status", { status })]]);
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
      setStatus("working", t(shuffled ? "storefront.in_queue" : "storefront.claiming"));
      try {
        const queued = shuffled ? await Queue.wait(eventId, user.value.trim()) : { admitted: true };
        if (queued.admitted) setStatus("working", t("storefront.claiming"));
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
