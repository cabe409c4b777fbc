// The live dashboard: log in once with the admin token (exchanged for an HttpOnly
// session cookie), then follow the event's frames over Server-Sent Events.
"use strict";

(() => {
  const HISTORY = 120;
  const { t, number } = I18n;
  const $ = (id) => document.getElementById(id);
  const eventId = decodeURIComponent(location.pathname.split("/")[2] || "");
  const history = [];
  let source = null;

  function setConn(state, text) {
    $("conn").dataset.state = state;
    $("conn").textContent = text;
  }

  function showLogin(message) {
    if (source) source.close();
    $("board").hidden = true;
    $("logout").hidden = true;
    $("login").hidden = false;
    $("login-status").textContent = message || "";
    setConn("off", t("dashboard.not_connected"));
    $("token-input").focus();
  }

  async function login(event) {
    event.preventDefault();
    const response = await fetch("/dashboard/-/session", {
      method: "POST", cache: "no-store", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: $("token-input").value }),
    });
    $("token-input").value = "";
    if (response.ok) connect();
    else showLogin(response.status === 401 ? t("dashboard.not_the_token") : t("dashboard.login_failed", { status: response.status }));
  }

  async function logout() {
    await fetch("/dashboard/-/session", { method: "DELETE" });
    showLogin(t("common.logged_out"));
  }

  function connect() {
    $("login").hidden = true;
    $("board").hidden = false;
    $("logout").hidden = false;
    setConn("off", t("dashboard.connecting"));
    source = new EventSource(`/dashboard/${encodeURIComponent(eventId)}/stream`);
    source.onopen = () => setConn("live", t("dashboard.live"));
    source.onmessage = (message) => render(JSON.parse(message.data));
    source.addEventListener("expired", () => showLogin(t("dashboard.session_ended")));
    source.onerror = async () => {
      setConn("off", t("dashboard.reconnecting"));
      if (source.readyState !== EventSource.CLOSED) return; // the browser retries by itself
      const session = await fetch("/dashboard/-/session", { cache: "no-store" });
      if (!session.ok) showLogin(t("dashboard.please_log_in"));
      else setTimeout(connect, 5000); // refused for now (too many viewers): try again
    };
  }

  function render(frame) {
    if (frame.result !== "ok") {
      $("updated").textContent = frame.detail || frame.result;
      return;
    }
    const ev = frame.event, throttled = frame.throttled_per_s;
    document.title = t("dashboard.event_title", { name: ev.name });
    $("event-id").textContent = ev.event_id;
    $("event-name").textContent = ev.name;
    $("remaining").textContent = t("dashboard.remaining", { remaining: number(ev.remaining), total: number(ev.total_stock) });
    $("remaining").dataset.value = ev.remaining;
    $("issued").textContent = number(ev.issued);
    $("issued").dataset.value = ev.issued;
    $("event-status").textContent = t(`event_status.${ev.status}`);
    $("issued-rate").textContent = number(frame.issued_per_s, 1);
    $("app-429").textContent = number(throttled.app_429, 1);
    $("app-503").textContent = number(throttled.app_503, 1);
    const gateway = [throttled.gateway_429, throttled.gateway_503];
    $("gateway-throttled").textContent = gateway.every((v) => v === null) ? t("common.not_available") : gateway.map((v) => number(v, 1)).join(" / ");
    $("backlog").textContent = number(frame.outbox.backlog);
    $("backlog").dataset.value = frame.outbox.backlog ?? "";
    $("consumer-lag").textContent = frame.consumer_lag_s === null ? t("common.not_available") : t("common.seconds", { value: number(frame.consumer_lag_s, 1) });
    $("dlq").textContent = number(frame.dlq_depth);
    $("dlq").dataset.value = frame.dlq_depth;
    renderMix(frame.results_total);
    history.push([frame.issued_per_s || 0, (throttled.app_429 || 0) + (throttled.app_503 || 0)]);
    if (history.length > HISTORY) history.shift();
    draw();
    $("updated").textContent = t("dashboard.updated", { at: I18n.time(frame.at) });
  }

  function renderMix(totals) {
    const rows = Object.entries(totals).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
    const all = rows.reduce((sum, [, n]) => sum + n, 0);
    $("mix").replaceChildren(...rows.map(([result, n]) => {
      const row = document.createElement("tr");
      for (const [text, kind] of [[result, ""], [number(n), "n"], [I18n.percent(n / all), "n"]]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        if (kind) cell.className = kind;
        row.append(cell);
      }
      return row;
    }));
  }

  function draw() {
    const canvas = $("chart"), ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth, height = canvas.clientHeight;
    canvas.width = width * ratio;
    canvas.height = height * ratio;
    const g = canvas.getContext("2d");
    g.scale(ratio, ratio);
    const top = Math.max(1, ...history.flat());
    g.strokeStyle = "#d8dee4";
    g.fillStyle = "#5b6670";
    g.font = "12px system-ui, sans-serif";
    g.beginPath(); g.moveTo(0, height - 1); g.lineTo(width, height - 1); g.stroke();
    g.fillText(t("common.per_second", { value: number(top, 1) }), 4, 12);
    for (const [index, color] of [[0, "#1b6e3a"], [1, "#b3261e"]]) {
      g.strokeStyle = color;
      g.lineWidth = 2;
      g.beginPath();
      history.forEach((point, i) => {
        const x = (width * i) / (HISTORY - 1), y = height - 2 - ((height - 18) * point[index]) / top;
        if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
      });
      g.stroke();
    }
  }

  window.addEventListener("resize", draw);
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  $("event-id").textContent = eventId;
  fetch("/dashboard/-/session", { cache: "no-store" })
    .then((response) => (response.ok ? connect() : showLogin()))
    .catch(() => showLogin(t("dashboard.unreachable")));
})();
