// ModelMeter's built-in dashboard: reads the cost API and draws it, charts with uPlot (ui/uPlot.iife.min.js).
"use strict";

const palette = ["#2563c9", "#d1611f", "#16855a", "#b8336a", "#7046c2", "#8f7100", "#5d6677"];
const units = { m: 60e3, h: 3600e3, d: 86400e3 };
const $ = (id) => document.getElementById(id);
const controls = ["range", "from", "to", "by", "model", "idle", "refresh"];
const charts = {};
let timer = null;

const money = (digits) => new Intl.NumberFormat(undefined, { style: "currency", currency: "USD", minimumFractionDigits: digits, maximumFractionDigits: digits });
// The forecast averages the last 7 days, or the ledger's time if it is younger (an hour-old ledger over its hour).
function dailyLabel(days) {
  if (!(days < 7)) return "Daily average, last 7 days";
  if (days >= 1) return `Daily average, last ${days.toFixed(1)} days`;
  const hours = days * 24;
  return hours >= 1 ? `Daily pace, last ${hours.toFixed(1)} hours` : `Daily pace, last ${Math.max(1, Math.round(hours * 60))} minutes`;
}

function usd(value) {
  if (value === null || value === undefined) return "–";
  const size = Math.abs(value);
  return money(size === 0 || size >= 100 ? 2 : size >= 1 ? 3 : size >= 0.01 ? 4 : 6).format(value);
}
const count = (value) => Number(value).toLocaleString(undefined, { maximumSignificantDigits: Math.abs(value) >= 100 ? 21 : 3 });
const tick = (value) => (value === 0 ? "$0" : "$" + Number(value.toPrecision(3)).toLocaleString(undefined, { maximumFractionDigits: 8 }));
const seconds = (value) => (value === null || value === undefined ? "–" : value < 1 ? `${Math.round(value * 1000)} ms` : `${value.toFixed(2)} s`);
const percent = (value) => `${(value * 100).toFixed(1)} %`;
const wh = (joules) => (joules === null || joules === undefined ? "–" : `${Number((joules / 3600).toPrecision(3)).toLocaleString(undefined, { maximumFractionDigits: 6 })} Wh`);
const grams = (value) => (value === null || value === undefined ? "–" : `${Number(value.toPrecision(3)).toLocaleString(undefined, { maximumFractionDigits: 6 })} g`);
const localAndUtc = (ms) => `${new Date(ms).toLocaleString()} (${new Date(ms).toISOString().slice(11, 16)} UTC)`;

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "vars") for (const [property, v] of Object.entries(value)) node.style.setProperty(property, String(v)); // CSSOM: allowed by the CSP
    else if (name === "className") node.className = value;
    else node.setAttribute(name, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

// --- the state lives in the URL, so that a view can be shared ---------------------------------------------------
function readState() {
  const query = new URLSearchParams(location.search);
  for (const id of controls) {
    const value = query.get(id);
    if (value === null) continue;
    const control = $(id);
    if (control.tagName !== "SELECT" || [...control.options].some((o) => o.value === value)) control.value = value;
    else if (id === "model") control.dataset.wanted = value; // the models are listed once v1/models answers
  }
  $("cumulative").checked = query.get("cumulative") === "1";
  showCustom();
}

function writeState() {
  const query = new URLSearchParams();
  for (const id of controls) {
    const value = $(id).value;
    const custom = id === "from" || id === "to";
    if (value && (!custom || $("range").value === "custom")) query.set(id, value);
  }
  if ($("cumulative").checked) query.set("cumulative", "1");
  history.replaceState(null, "", `${location.pathname}?${query}`);
}

function showCustom() {
  for (const label of document.querySelectorAll(".custom")) label.hidden = $("range").value !== "custom";
}

function currentWindow() {
  if ($("range").value === "custom" && $("from").value && $("to").value) {
    return { from: new Date($("from").value).getTime(), to: new Date($("to").value).getTime() };
  }
  const text = $("range").value === "custom" ? "24h" : $("range").value;
  const to = Date.now();
  return { from: to - parseFloat(text) * units[text.slice(-1)], to };
}

function stepFor(ms) {
  const steps = [["1m", 60e3], ["5m", 300e3], ["15m", 900e3], ["1h", 3600e3], ["6h", 21600e3], ["1d", 86400e3]];
  return (steps.find(([, size]) => ms / size <= 120) ?? steps[steps.length - 1]);
}

// --- the API -------------------------------------------------------------------------------------------------------
async function getJson(url, init = {}) {
  const key = sessionStorage.getItem("modelmeter-admin-key");
  const headers = { ...(init.headers ?? {}), ...(key ? { Authorization: "Bearer " + key } : {}) };
  const response = await fetch(url, { ...init, headers });
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

const iso = (ms) => encodeURIComponent(new Date(ms).toISOString());

// --- panels --------------------------------------------------------------------------------------------------------
function renderSummary(summary) {
  const body = $("summary").querySelector("tbody");
  const total = summary.total_usd;
  $("window-total").textContent = usd(total);
  $("window-total").dataset.usd = String(total);
  body.replaceChildren(...summary.rows.map((r) => {
    const share = total > 0 ? r.total_usd / total : 0;
    const bar = element("span", { className: "bar", vars: { "--share": share } });
    return element("tr", { dataset: { key: r.key, totalUsd: String(r.total_usd), share: String(share), energyJ: String(r.energy_j ?? 0), co2eG: String(r.co2e_g ?? 0) }, className: r.key.startsWith("(") ? "muted" : "" },
      element("th", { scope: "row" }, r.key), element("td", {}, count(r.requests)), element("td", {}, usd(r.cost_usd)),
      element("td", {}, usd(r.idle_usd)), element("td", {}, usd(r.total_usd)), element("td", { className: "share" }, bar, percent(share)),
      element("td", {}, wh(r.energy_j)), element("td", {}, grams(r.co2e_g)));
  }));
  if (summary.rows.length === 0) body.append(element("tr", {}, element("td", { colspan: "8" }, "Nothing in this range.")));
}

function bars(list, items) {
  const max = Math.max(1e-12, ...items.map((i) => i.max ?? i.value));
  list.replaceChildren(...items.map((i) => {
    const track = element("span", { className: "track" });
    track.append(element("span", { className: "fill", vars: { "--part": i.value / max, "--color": i.color ?? palette[0] } }));
    for (const [part, color] of i.parts ?? []) track.append(element("span", { className: "fill", vars: { "--part": part / max, "--color": color } }));
    for (const mark of i.marks ?? []) track.append(element("span", { className: "mark", vars: { "--at": mark / max }, title: usd(mark) }));
    return element("li", { dataset: i.dataset ?? {}, title: i.title ?? "" }, element("span", { className: "name" }, i.label), track, element("span", { className: "figure" }, i.text));
  }));
  if (items.length === 0) list.append(element("li", { className: "empty" }, list.dataset.empty ?? "Nothing yet: send requests, or widen the time range."));
}

function renderToday(summary) {
  const rows = summary.rows.filter((r) => !r.key.startsWith("("));
  $("today-bars").dataset.empty = "Nothing since midnight yet: send requests (or demo traffic) and they show here.";
  bars($("today-bars"), rows.map((r, i) => ({
    label: r.key, value: r.total_usd, text: usd(r.total_usd), color: palette[i % palette.length], dataset: { key: r.key, usd: String(r.total_usd) },
    title: `${r.key}: ${usd(r.cost_usd)} own cost + ${usd(r.idle_usd)} idle, ${count(r.requests)} requests since midnight`,
  })));
}

function renderStats(stats) {
  const models = stats.models;
  $("reference").querySelector("tbody").replaceChildren(...models.map((m) => element("tr", {
    dataset: { model: m.model, per1k: String(m.cost_per_1k_output_usd ?? ""), referencePer1k: String(m.reference?.cost_per_1k_output_usd ?? ""), saved: String(m.reference?.saved_usd ?? "") },
  },
    element("th", { scope: "row" }, m.model),
    element("td", {}, usd(m.cost_per_1k_output_usd)),
    element("td", {}, m.reference ? usd(m.reference.cost_per_1k_output_usd) : "no ReferencePrice"),
    element("td", { className: m.reference ? (m.reference.saved_usd >= 0 ? "good" : "bad") : "" }, m.reference ? usd(m.reference.saved_usd) : "–"))));
  $("latency-table").querySelector("tbody").replaceChildren(...models.map((m) => element("tr", { dataset: { model: m.model } },
    element("th", { scope: "row" }, m.model), element("td", {}, count(m.requests_per_minute)), element("td", {}, seconds(m.latency_p50_seconds)),
    element("td", {}, seconds(m.latency_p95_seconds)), element("td", {}, seconds(m.latency_p99_seconds)), element("td", {}, seconds(m.ttft_p95_seconds)))));
  facts($("endpoints"), stats.endpoints.map((e) => `${e.model} · ${e.endpoint}: ${count(e.requests_per_minute)}/min (${count(e.requests)})`), "No requests in this range: send some, or widen it.");
  facts($("errors"), stats.errors.map((e) => `${e.model} · ${e.reason}: ${count(e.requests_per_minute)}/min (${count(e.requests)})`), "No failed requests in this range.");
  const energy = models.filter((m) => m.energy_j > 0);
  facts($("energy-facts"), energy.map((m) => `${m.model}: ${wh(m.energy_j)}, ${grams(m.co2e_g)} CO2e; ${m.wh_per_1k_output_tokens === null ? "–" : wh(m.wh_per_1k_output_tokens * 3600)} per 1,000 output tokens, ${grams(m.co2e_g_per_1k_tokens)} CO2e per 1,000 tokens`),
    "No energy in this range: the devices have no energy source (Energy:Source None), or nothing ran.");
  for (const [item, m] of [...$("energy-facts").children].map((li, i) => [li, energy[i]])) if (m) Object.assign(item.dataset, { model: m.model, whPer1k: String(m.wh_per_1k_output_tokens ?? ""), co2ePer1k: String(m.co2e_g_per_1k_tokens ?? "") });
}

function facts(list, lines, empty) {
  list.replaceChildren(...(lines.length ? lines : [empty]).map((line) => element("li", lines.length ? {} : { className: "empty" }, line)));
}

function renderDevices(byDevice, devices) {
  const rows = byDevice.rows.filter((r) => !r.key.startsWith("("));
  bars($("device-bars"), rows.map((r) => ({
    label: r.key, value: r.cost_usd, parts: [[r.idle_usd, "#b9c0cc"]], max: r.total_usd,
    text: `${usd(r.total_usd)} · ${r.total_usd > 0 ? percent(r.idle_usd / r.total_usd) : "–"} idle`,
    title: `busy ${usd(r.cost_usd)}, idle ${usd(r.idle_usd)}`, dataset: { device: r.key, idleUsd: String(r.idle_usd), totalUsd: String(r.total_usd) },
  })));
  const gpus = devices.devices.filter((d) => d.gpu);
  facts($("gpus"), gpus.map((d) => `${d.device}: memory ${d.gpu.memory_percent?.toFixed(1) ?? "–"} %, compute ${d.gpu.compute_percent ?? "–"} %, ${d.gpu.power_watts?.toFixed(0) ?? "–"} W`),
    "No GPU on this server: the devices here are CPUs (or NVML is not available). Configure a device with Kind Gpu to see its memory and compute here.");
}

function renderBudgets(budgets) {
  $("budgets").dataset.empty = "No budgets configured (ModelMeter:Budgets).";
  bars($("budgets"), budgets.budgets.map((b) => ({
    label: `${b.name} (${b.period})`, value: Math.min(b.spent_usd, b.limit_usd * 1.5), max: b.limit_usd * 1.5,
    color: b.spent_usd >= b.limit_usd ? "#b3261e" : palette[0], marks: b.thresholds.map((t) => t * b.limit_usd),
    text: `${usd(b.spent_usd)} of ${usd(b.limit_usd)}${b.enforce ? ", enforced" : ""}`, dataset: { budget: b.name, spent: String(b.spent_usd), limit: String(b.limit_usd) },
  })));
}

async function renderModels() {
  const models = await getJson("v1/models");
  const select = $("model");
  const wanted = select.dataset.wanted ?? select.value;
  if (select.options.length === 1) {
    select.append(...models.data.map((m) => element("option", { value: m.id }, m.id)));
    if (wanted && models.data.some((m) => m.id === wanted)) {
      select.value = wanted;
      delete select.dataset.wanted;
      refresh();
    }
  }
  facts($("models"), models.data.map((m) => `${m.id} on ${m.device ?? "a paid API"}: ${m.ready ? "ready" : "loading"}`), "No models configured.");
}

/** A stacked chart of one figure of the time series (cost or energy) by group, in the chosen steps. */
function renderStacked(boxId, series, figure, from, to, stepMs, options) {
  const keys = [...new Set(series.points.map((p) => p.key))];
  const totals = new Map(keys.map((k) => [k, 0]));
  for (const p of series.points) totals.set(p.key, totals.get(p.key) + figure(p));
  const shown = keys.sort((a, b) => totals.get(b) - totals.get(a)).slice(0, palette.length - 1);
  const names = [...shown, ...(keys.length > shown.length ? ["(other)"] : [])];
  const start = Math.floor(from / stepMs) * stepMs;
  const buckets = Math.max(1, Math.ceil((to - start) / stepMs));
  const xs = Array.from({ length: buckets }, (_, i) => (start + i * stepMs) / 1000);
  const raw = names.map(() => new Array(buckets).fill(0));
  for (const p of series.points) {
    const i = Math.floor((Date.parse(p.start) - start) / stepMs);
    const s = shown.includes(p.key) ? shown.indexOf(p.key) : names.length - 1;
    if (i >= 0 && i < buckets) raw[s][i] += figure(p);
  }
  const values = raw.map((row) => {
    let running = 0;
    return row.map((v) => (options.cumulative ? (running += v) : v / (stepMs / 60e3)));
  });
  // Stacked: each series is drawn at its top (the sum of it and those below), filled down to the one below.
  const stacked = values.map((_, s) => values[0].map((__, i) => values.slice(s).reduce((sum, row) => sum + row[i], 0)));
  const box = $(boxId);
  box.dataset.series = names.join("|");
  box.dataset.points = String(series.points.length);
  box.dataset.total = String([...totals.values()].reduce((a, b) => a + b, 0));
  const plot = {
    width: Math.max(280, box.clientWidth - 16),
    height: 260,
    scales: { x: { time: true } },
    axes: [{}, { size: 80, values: (u, ticks) => ticks.map(options.tick) }],
    series: [
      { value: (u, v) => (v === null ? "–" : localAndUtc(v * 1000)) },
      ...names.map((name, s) => ({
        label: name, stroke: palette[Math.min(s, palette.length - 1)], fill: palette[Math.min(s, palette.length - 1)] + "55", width: 1.5,
        value: (u, v, si, i) => (i === null || i === undefined ? "–" : options.format(values[s][i])),
      })),
    ],
    legend: { live: true },
  };
  charts[boxId]?.destroy();
  box.replaceChildren();
  charts[boxId] = new uPlot(plot, [xs, ...stacked], box);
}

function renderChart(series, from, to, stepMs) {
  const cumulative = $("cumulative").checked;
  $("over-time-unit").textContent = cumulative ? "US dollars, cumulative over the range" : "US dollars per minute";
  renderStacked("chart", series, (p) => p.cost_usd, from, to, stepMs, { cumulative, tick, format: usd });
}

function renderEnergy(series, from, to, stepMs) {
  const whTick = (value) => `${Number(value.toPrecision(3)).toLocaleString(undefined, { maximumFractionDigits: 8 })} Wh`;
  renderStacked("energy-chart", series, (p) => (p.energy_j ?? 0) / 3600, from, to, stepMs, { cumulative: false, tick: whTick, format: (v) => wh(v * 3600) });
  const total = series.points.reduce((sum, p) => sum + (p.energy_j ?? 0), 0);
  const idle = series.points.filter((p) => p.key.startsWith("(idle)")).reduce((sum, p) => sum + (p.energy_j ?? 0), 0);
  $("energy-idle").textContent = total > 0 ? `${percent(idle / total)} of ${wh(total)} idle` : "no energy in this range";
  $("energy-idle").dataset.idleShare = total > 0 ? String(idle / total) : "";
}

/** Lines over time (not stacked), one per series; the buckets are those of the chosen step. */
function renderLines(boxId, lines, from, to, stepMs, format) {
  const start = Math.floor(from / stepMs) * stepMs;
  const buckets = Math.max(1, Math.ceil((to - start) / stepMs));
  const xs = Array.from({ length: buckets }, (_, i) => (start + i * stepMs) / 1000);
  const rows = lines.map((line) => {
    const row = new Array(buckets).fill(line.gaps ? null : 0);
    for (const [at, value] of line.points) {
      const i = Math.floor((Date.parse(at) - start) / stepMs);
      if (i >= 0 && i < buckets) row[i] = (row[i] ?? 0) + value;
    }
    return row;
  });
  const box = $(boxId);
  box.dataset.series = lines.map((l) => l.label).join("|");
  box.dataset.total = String(lines.reduce((sum, l) => sum + l.points.reduce((s, [, v]) => s + v, 0), 0));
  const plot = {
    width: Math.max(260, box.clientWidth - 8),
    height: 200,
    scales: { x: { time: true } },
    axes: [{}, { size: 60, values: (u, ticks) => ticks.map(format) }],
    series: [
      { value: (u, v) => (v === null ? "–" : localAndUtc(v * 1000)) },
      ...lines.map((line, s) => ({
        label: line.label, stroke: line.color ?? palette[s % palette.length], width: 1.5, spanGaps: false, dash: line.dash,
        points: { show: line.gaps ? true : undefined, size: 5 }, // a step with served requests between empty ones is a dot
        value: (u, v) => (v === null ? "–" : format(v)),
      })),
    ],
    legend: { live: true },
  };
  charts[boxId]?.destroy();
  box.replaceChildren();
  charts[boxId] = new uPlot(plot, [xs, ...rows], box);
}

function renderActivity(activity, from, to, stepMs) {
  const perMinute = stepMs / 60e3;
  const rate = (v) => Number(v.toPrecision(3)).toLocaleString(undefined, { maximumFractionDigits: 4 });
  const models = [...new Set(activity.requests.map((r) => r.model))].sort();
  renderLines("requests-chart", models.map((m) => ({ label: m, points: activity.requests.filter((r) => r.model === m).map((r) => [r.start, r.requests / perMinute]) })), from, to, stepMs, rate);
  renderLines("latency-chart", [
    { label: "p50", gaps: true, points: activity.latency.map((l) => [l.start, l.p50_seconds]) },
    { label: "p95", gaps: true, dash: [6, 4], points: activity.latency.map((l) => [l.start, l.p95_seconds]) },
  ], from, to, stepMs, (v) => seconds(v));
  const reasons = [...new Set(activity.errors.map((e) => `${e.reason}${e.refused ? " (refused)" : ""}`))].sort();
  renderLines("errors-chart", reasons.map((reason) => ({
    label: reason, points: activity.errors.filter((e) => `${e.reason}${e.refused ? " (refused)" : ""}` === reason).map((e) => [e.start, e.requests / perMinute]),
  })), from, to, stepMs, rate);
}

// --- refresh -------------------------------------------------------------------------------------------------------
async function refresh() {
  writeState();
  const { from, to } = currentWindow();
  const [step, stepMs] = stepFor(to - from);
  const range = `from=${iso(from)}&to=${iso(to)}`;
  const model = $("model").value ? `&model=${encodeURIComponent($("model").value)}` : "";
  const midnight = new Date(); midnight.setHours(0, 0, 0, 0);
  try {
    const [summary, series, forecast, stats, today, devicesSummary, budgets, devices, activity] = await Promise.all([
      getJson(`api/costs/summary?${range}&by=${$("by").value}&idle=${$("idle").value}${model}`),
      getJson(`api/costs/timeseries?${range}&by=${$("by").value}&step=${step}${model}`),
      getJson("api/costs/forecast"),
      getJson(`api/costs/stats?${range}`),
      getJson(`api/costs/summary?from=${iso(midnight.getTime())}&by=model`),
      getJson(`api/costs/summary?${range}&by=device`),
      getJson("api/costs/budgets"),
      getJson("api/costs/devices"),
      getJson(`api/costs/activity?${range}&step=${step}${model}`),
    ]);
    $("error").hidden = true;
    $("mtd").textContent = usd(forecast.month_to_date_usd);
    $("projected").textContent = usd(forecast.projected_month_usd);
    $("daily").textContent = usd(forecast.trailing_7d_daily_usd);
    $("daily-label").textContent = dailyLabel(forecast.trailing_days);
    $("empty").hidden = summary.rows.some((r) => r.requests > 0);
    renderSummary(summary);
    renderChart(series, from, to, stepMs);
    renderEnergy(series, from, to, stepMs);
    renderActivity(activity, from, to, stepMs);
    renderToday(today);
    renderStats(stats);
    renderDevices(devicesSummary, devices);
    $("by-node").hidden = $("by-node").disabled = !devices.fleet; // each replica's share: only the fleet ledger knows the nodes
    renderBudgets(budgets);
    document.body.dataset.loaded = String(Number(document.body.dataset.loaded ?? 0) + 1);
  } catch (error) {
    $("error").textContent = error.message;
    $("error").hidden = false;
  }
  renderModels().catch(() => {});
}

function schedule() {
  clearInterval(timer);
  const every = Number($("refresh").value);
  if (every > 0) timer = setInterval(refresh, every * 1000);
}

$("controls").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = $("key").value.trim();
  if (key) sessionStorage.setItem("modelmeter-admin-key", key);
  refresh();
});
for (const id of ["range", "from", "to", "by", "model", "idle"]) $(id).addEventListener("change", () => { showCustom(); refresh(); });
$("refresh").addEventListener("change", () => { schedule(); writeState(); });
$("cumulative").addEventListener("change", refresh);
$("demo").addEventListener("click", async () => {
  $("demo").disabled = true;
  try {
    const started = await getJson("api/demo-traffic", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    $("demo-status").textContent = `Sending ${started.requests_per_second} requests a second for ${started.seconds} s; the charts refresh every 10 s.`;
    $("refresh").value = "10";
    schedule();
    writeState();
  } catch (error) {
    $("demo-status").textContent = error.message;
    $("demo").disabled = false;
  }
});
window.addEventListener("resize", () => {
  for (const [id, plot] of Object.entries(charts)) plot.setSize({ width: Math.max(260, $(id).clientWidth - 16), height: $(id).classList.contains("small") ? 200 : 260 });
});
readState();
schedule();
refresh();
