// The page's language: its catalogue's sections (the JSON block web/pages.py puts in the
// page), texts with {name} filled in, plural forms by Intl.PluralRules, and numbers,
// dates and times by Intl in the catalogue's locale (Asia/Seoul, named, for Korean).
"use strict";

const I18n = (() => {
  const doc = JSON.parse(document.getElementById("i18n").textContent);
  const format = doc.format;
  const lang = document.documentElement.lang;
  const plurals = new Intl.PluralRules(format.locale);
  const numbers = new Map();
  const zone = { timeZone: format.time_zone || undefined, timeZoneName: format.time_zone_name };
  const dates = new Intl.DateTimeFormat(format.locale, { year: "numeric", month: "short", day: "numeric", hour: "numeric", minute: "2-digit", ...zone });
  const clock = new Intl.DateTimeFormat(format.locale, { hour: "numeric", minute: "2-digit", second: "2-digit", ...zone });

  const lookup = (key) => key.split(".").reduce((node, part) => (node == null ? node : node[part]), doc);
  const fill = (text, params) => text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));

  function t(key, params = {}) {
    const text = lookup(key);
    return typeof text === "string" ? fill(text, params) : key;
  }

  function number(value, digits = 0) {
    if (value === null || value === undefined) return t("common.not_available");
    if (!numbers.has(digits)) numbers.set(digits, new Intl.NumberFormat(format.locale, { maximumFractionDigits: digits }));
    return numbers.get(digits).format(value);
  }

  function plural(key, count, params = {}) {
    const forms = lookup(key) || {};
    return fill(forms[plurals.select(count)] ?? forms.other ?? key, { count: number(count), ...params });
  }

  const instant = (value) => (typeof value === "number" ? value : Date.parse(value));
  const dateTime = (value) => dates.format(instant(value));
  const time = (value) => clock.format(instant(value));
  const percent = (share) => new Intl.NumberFormat(format.locale, { style: "percent", maximumFractionDigits: 1 }).format(share);

  // The switch: the link of the language shown is marked; following another reloads the
  // page in it (the server remembers it in a cookie).
  for (const link of document.querySelectorAll("a[hreflang]")) {
    if (link.hreflang === lang) link.setAttribute("aria-current", "true");
  }

  return { lang, format, t, number, plural, dateTime, time, percent, headers: { "Accept-Language": lang } };
})();
