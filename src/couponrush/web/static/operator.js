// The operator page: the events table (newest first, paged) and one event's controls,
// all through the public API with the operator's bearer token (kept in this tab only).
"use strict";

(() => {
  const KEY = "couponrush.operator-token";
  const PAGE = 20;
  const $ = (id) => document.getElementById(id);
  const { t, number } = I18n;
  const refusal = (answer, status) => t("operator.refused", { result: answer.result || status, detail: answer.detail || "" });
  let cursor = null;
  let selected = null;

  const token = () => sessionStorage.getItem(KEY);

  async function api(method, path, body) {
    const headers = { ...I18n.headers, Authorization: `Bearer ${token()}`, "X-Request-ID": Retry.requestId("op-") };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method, cache: "no-store", headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 401) {
      showLogin(t("operator.token_refused"));
      throw new Error("unauthorized");
    }
    return response;
  }

  function showLogin(message) {
    sessionStorage.removeItem(KEY);
    for (const id of ["events", "controls", "logout"]) $(id).hidden = true;
    $("login").hidden = false;
    $("who").textContent = "";
    $("login-status").textContent = message || "";
    $("token-input").focus();
  }

  async function login(event) {
    event.preventDefault();
    sessionStorage.setItem(KEY, $("token-input").value.trim());
    $("token-input").value = "";
    start();
  }

  async function start() {
    let me;
    try {
      me = await (await api("GET", "/v1/tokens/current")).json();
    } catch {
      return;
    }
    $("who").textContent = t("operator.who", { name: me.name, scope: me.scope });
    $("login").hidden = true;
    $("events").hidden = false;
    $("logout").hidden = false;
    reload();
  }

  function reload() {
    cursor = null;
    $("rows").replaceChildren();
    more();
  }

  async function more() {
    const params = new URLSearchParams({ limit: String(PAGE) });
    if ($("status-filter").value) params.append("status", $("status-filter").value);
    if (cursor) params.set("cursor", cursor);
    const page = await (await api("GET", `/v1/events?${params}`)).json();
    for (const event of page.items || []) $("rows").append(row(event));
    cursor = page.next_cursor;
    $("more").hidden = !cursor;
  }

  function cell(text, kind) {
    const td = document.createElement("td");
    td.textContent = text;
    if (kind) td.className = kind;
    return td;
  }

  function row(event) {
    const tr = document.createElement("tr");
    const name = document.createElement("button");
    name.type = "button";
    name.className = "link";
    name.textContent = event.event_id;
    name.addEventListener("click", () => select(event.event_id));
    const first = document.createElement("td");
    first.append(name);
    tr.dataset.event = event.event_id;
    const left = t("operator.remaining", { remaining: number(event.remaining), total: number(event.total_stock) });
    tr.append(first, cell(t(`operator.statuses.${event.status}`)), cell(left, "n"),
      cell(number(event.issued), "n"), cell(event.ends_at ? I18n.dateTime(event.ends_at) : t("operator.never")));
    return tr;
  }

  async function select(eventId) {
    const response = await api("GET", `/v1/events/${encodeURIComponent(eventId)}`);
    show(await response.json());
    $("controls").hidden = false;
    $("action-status").replaceChildren();
    $("controls").scrollIntoView({ block: "nearest" });
  }

  function show(event) {
    selected = event.event_id;
    $("event-id").textContent = event.event_id;
    $("event-name").textContent = event.name;
    $("event-status").textContent = t(`operator.statuses.${event.status}`);
    $("event-left").textContent = t("operator.left_of_total", { remaining: number(event.remaining), total: number(event.total_stock) });
    $("live-link").href = `/dashboard/${encodeURIComponent(event.event_id)}`;
  }

  function say(state, text) {
    const box = $("action-status");
    box.dataset.state = state;
    box.textContent = text;
  }

  async function act(method, suffix, body, done) {
    say("working", t("operator.working"));
    const response = await api(method, `/v1/events/${encodeURIComponent(selected)}${suffix}`, body);
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      say("error", refusal(answer, response.status));
      return;
    }
    show(answer);
    say("issued", done);
    reload();
  }

  async function download(format) {
    say("working", t("operator.exporting"));
    const response = await api("GET", `/v1/events/${encodeURIComponent(selected)}/winners?format=${format}`);
    if (!response.ok) {
      const answer = await response.json().catch(() => ({}));
      say("error", refusal(answer, response.status));
      return;
    }
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = `${selected}-winners.${format}`;
    link.click();
    URL.revokeObjectURL(link.href);
    say("issued", t("operator.exported", { format }));
  }

  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", () => showLogin(t("common.logged_out")));
  $("status-filter").addEventListener("change", reload);
  $("more").addEventListener("click", more);
  $("close").addEventListener("click", () => act("POST", "/close", undefined, t("operator.closed")));
  $("archive").addEventListener("click", () => act("POST", "/archive", undefined, t("operator.archived")));
  $("extend-form").addEventListener("submit", (e) => {
    e.preventDefault();
    // The input is read in the zone its label names (UTC, or Asia/Seoul for Korean).
    const ends = new Date(`${$("extend-input").value}${I18n.format.input_offset}`).toISOString();
    act("PATCH", "", { ends_at: ends }, t("operator.extended", { when: I18n.dateTime(ends) }));
  });
  $("topup-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const current = await (await api("GET", `/v1/events/${encodeURIComponent(selected)}`)).json();
    const total = current.total_stock + Number($("topup-input").value);
    act("PATCH", "", { total_stock: total }, t("operator.topped_up", { total: number(total) }));
  });
  $("export-csv").addEventListener("click", () => download("csv"));
  $("export-jsonl").addEventListener("click", () => download("jsonl"));
  if (token()) start(); else showLogin();
})();
