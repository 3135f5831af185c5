// ModelMeter's built-in dashboard: reads the cost API and draws the figures. No dependencies.
"use strict";

const palette = ["#2f6fde", "#e3793b", "#2aa876", "#c2477f", "#8a63d2", "#c9a227", "#5d6677"];
const units = { m: 60e3, h: 3600e3, d: 86400e3 };
const $ = (id) => document.getElementById(id);

function usd(value) {
  const digits = value >= 100 ? 2 : value >= 1 ? 3 : 6;
  return "$" + value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function windowMs(text) {
  return parseFloat(text) * units[text.slice(-1)];
}

function stepFor(ms) {
  const candidates = [["1m", 60e3], ["5m", 300e3], ["15m", 900e3], ["1h", 3600e3], ["6h", 21600e3], ["1d", 86400e3]];
  const found = candidates.find(([, size]) => ms / size <= 60);
  return found ? found[0] : "1d";
}

async function getJson(url) {
  const key = sessionStorage.getItem("modelmeter-admin-key");
  const response = await fetch(url, { headers: key ? { Authorization: "Bearer " + key } : {} });
  if (response.status === 401) {
    $("key-label").hidden = false;
    throw new Error("The cost API needs the admin key (auth is on). Enter it above.");
  }
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    throw new Error(problem.detail || `${url} answered ${response.status}`);
  }
  return response.json();
}

function renderSummary(summary) {
  const body = $("summary").querySelector("tbody");
  body.replaceChildren();
  const total = summary.total_usd;
  $("window-total").textContent = usd(total);
  $("window-total").dataset.usd = String(total);
  if (summary.rows.length === 0) {
    const row = body.insertRow();
    const cell = row.insertCell();
    cell.colSpan = 7;
    cell.textContent = "No requests in this window yet.";
    return;
  }
  for (const r of summary.rows) {
    const row = body.insertRow();
    row.dataset.key = r.key;
    row.dataset.totalUsd = String(r.total_usd);
    if (r.key.startsWith("(idle)")) row.className = "idle";
    const share = total > 0 ? r.total_usd / total : 0;
    for (const text of [r.key, r.requests.toLocaleString("en-US"), r.output_tokens.toLocaleString("en-US"), usd(r.cost_usd), usd(r.idle_usd), usd(r.total_usd)]) {
      row.insertCell().textContent = text;
    }
    const cell = row.insertCell();
    const wrap = document.createElement("div");
    wrap.className = "share";
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.style.width = `${Math.round(share * 120)}px`;
    const label = document.createElement("span");
    label.textContent = (share * 100).toFixed(1) + "%";
    wrap.append(bar, label);
    cell.append(wrap);
  }
}

function renderChart(series, from, to, stepMs) {
  const keys = [...new Set(series.points.map((p) => p.key))];
  const totals = new Map(keys.map((k) => [k, 0]));
  for (const p of series.points) totals.set(p.key, totals.get(p.key) + p.cost_usd);
  const shown = keys.sort((a, b) => totals.get(b) - totals.get(a)).slice(0, palette.length - 1);
  const color = (key) => shown.includes(key) ? palette[shown.indexOf(key)] : palette[palette.length - 1];

  const buckets = Math.max(1, Math.ceil((to - from) / stepMs));
  const stacks = Array.from({ length: buckets }, () => new Map());
  for (const p of series.points) {
    const i = Math.floor((Date.parse(p.start) - from) / stepMs);
    if (i < 0 || i >= buckets) continue;
    const key = shown.includes(p.key) ? p.key : "other";
    stacks[i].set(key, (stacks[i].get(key) || 0) + p.cost_usd);
  }
  const max = Math.max(1e-12, ...stacks.map((s) => [...s.values()].reduce((a, b) => a + b, 0)));

  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${buckets * 10} 100`);
  svg.setAttribute("preserveAspectRatio", "none");
  stacks.forEach((stack, i) => {
    let y = 100;
    for (const [key, value] of stack) {
      const h = (value / max) * 96;
      const rect = document.createElementNS(ns, "rect");
      Object.entries({ x: i * 10 + 1, y: y - h, width: 8, height: h, fill: color(key) }).forEach(([a, v]) => rect.setAttribute(a, v));
      const title = document.createElementNS(ns, "title");
      title.textContent = `${key}: ${usd(value)} from ${new Date(from + i * stepMs).toLocaleString()}`;
      rect.append(title);
      svg.append(rect);
      y -= h;
    }
  });
  $("chart").replaceChildren(svg);
  $("legend").replaceChildren(...[...shown, ...(keys.length > shown.length ? ["other"] : [])].map((key) => {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.style.background = color(key);
    item.append(swatch, key);
    return item;
  }));
}

async function renderModels() {
  const models = await getJson("v1/models");
  $("models").replaceChildren(...models.data.map((m) => {
    const item = document.createElement("li");
    item.textContent = `${m.id} on ${m.device ?? "a paid API"} `;
    const state = document.createElement("span");
    state.className = m.ready ? "ready" : "loading";
    state.textContent = m.ready ? "ready" : "loading";
    item.append(state);
    return item;
  }));
}

async function refresh() {
  const span = windowMs($("window").value);
  const to = Date.now();
  const from = to - span;
  const step = stepFor(span);
  const range = `from=${encodeURIComponent(new Date(from).toISOString())}&to=${encodeURIComponent(new Date(to).toISOString())}`;
  const by = $("by").value;
  try {
    const [summary, series, forecast] = await Promise.all([
      getJson(`api/costs/summary?${range}&by=${by}&idle=${$("idle").value}`),
      getJson(`api/costs/timeseries?${range}&by=${by}&step=${step}`),
      getJson("api/costs/forecast"),
    ]);
    $("error").hidden = true;
    $("mtd").textContent = usd(forecast.month_to_date_usd);
    $("projected").textContent = usd(forecast.projected_month_usd);
    $("daily").textContent = usd(forecast.trailing_7d_daily_usd);
    renderSummary(summary);
    renderChart(series, Date.parse(series.from), Date.parse(series.to), windowMs(step));
    document.body.dataset.loaded = "true";
  } catch (error) {
    $("error").textContent = error.message;
    $("error").hidden = false;
  }
  renderModels().catch(() => {});
}

$("controls").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = $("key").value.trim();
  if (key) sessionStorage.setItem("modelmeter-admin-key", key);
  refresh();
});
for (const id of ["window", "by", "idle"]) $(id).addEventListener("change", refresh);
refresh();
setInterval(refresh, 15000);
