// The manager's dashboard: the statistics report (/api/stats, as `foureyes stats` reads it)
// drawn as small SVG charts, no chart library.
import { applyLabels, el, get, signedIn, t, toast, topBar } from "./common.js";

const SVG = "http://www.w3.org/2000/svg";
const W = 560;
const H = 180;
const PAD = 28;

function svg(tag, attrs = {}, text = "") {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text) node.textContent = text;
  return node;
}

function frame(max, unit = "") {
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "svgchart", role: "img" });
  root.append(svg("line", { x1: PAD, y1: H - PAD, x2: W - 4, y2: H - PAD, class: "axis" }));
  root.append(svg("text", { x: 2, y: 12, class: "tick" }, `${max}${unit}`));
  root.append(svg("text", { x: 2, y: H - PAD, class: "tick" }, `0${unit}`));
  return root;
}

// Grouped bars: one group per label, one bar per series.
function bars(target, labels, series) {
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const root = frame(max);
  const group = (W - PAD - 8) / Math.max(labels.length, 1);
  const bar = Math.max(2, (group - 6) / series.length);
  labels.forEach((label, i) => {
    series.forEach((s, j) => {
      const h = ((H - 2 * PAD) * s.values[i]) / max;
      root.append(svg("rect", { x: PAD + i * group + j * bar + 3, y: H - PAD - h, width: bar - 1,
                                height: h, class: `bar s${j}` }, ""));
    });
    if (labels.length <= 16 || i % Math.ceil(labels.length / 16) === 0) {
      root.append(svg("text", { x: PAD + i * group + 2, y: H - 10, class: "tick" }, label.slice(-5)));
    }
  });
  legend(target, root, series);
}

function line(target, labels, series, unit = "") {
  const max = Math.max(1e-9, ...series.flatMap((s) => s.values));
  const root = frame(unit === "%" ? 100 : +max.toFixed(2), unit);
  const step = (W - PAD - 8) / Math.max(labels.length - 1, 1);
  const top = unit === "%" ? 1 : max;
  series.forEach((s, j) => {
    const points = s.values.map((v, i) => `${PAD + i * step},${H - PAD - ((H - 2 * PAD) * v) / top}`);
    root.append(svg("polyline", { points: points.join(" "), class: `line s${j}` }));
  });
  labels.forEach((label, i) => {
    if (labels.length <= 12 || i % Math.ceil(labels.length / 12) === 0) {
      root.append(svg("text", { x: PAD + i * step - 8, y: H - 10, class: "tick" }, label.slice(-5)));
    }
  });
  legend(target, root, series);
}

// Horizontal bars for a ranking.
function ranking(target, items) {
  const root = svg("svg", { viewBox: `0 0 ${W} ${Math.max(24, items.length * 22)}`, class: "svgchart" });
  const max = Math.max(1, ...items.map((i) => i.value));
  items.forEach((item, k) => {
    const w = ((W - 220) * item.value) / max;
    root.append(svg("text", { x: 0, y: k * 22 + 15, class: "tick" }, item.label.slice(0, 30)));
    root.append(svg("rect", { x: 200, y: k * 22 + 4, width: Math.max(w, 1), height: 14, class: "bar s0" }));
    root.append(svg("text", { x: 204 + w, y: k * 22 + 15, class: "tick" }, String(item.value)));
  });
  target.replaceChildren(items.length ? root : el("p", { text: t("none") }));
}

function legend(target, root, series) {
  target.replaceChildren(root, el("p", { class: "legend" },
    ...series.map((s, j) => el("span", { class: `key s${j}`, text: s.name }))));
}

async function load() {
  const by = document.getElementById("by").value;
  const span = { hour: 2 * 86400, day: 14 * 86400, month: 365 * 86400 }[by];
  const until = Date.now() / 1000;
  let report;
  try {
    report = await get(`/api/stats?by=${by}&since=${until - span}&until=${until}`);
  } catch (err) {
    toast(`${err.code || ""} ${err.message}`, "error");
    return;
  }
  const rows = report.rows;
  const labels = rows.map((r) => r.period);
  bars(document.getElementById("volume"), labels, [
    { name: t("requests"), values: rows.map((r) => r.requests) },
    { name: t("required"), values: rows.map((r) => r.required) },
    { name: t("approved"), values: rows.map((r) => r.approved) },
    { name: t("rejected"), values: rows.map((r) => r.rejected) },
  ]);
  line(document.getElementById("rates"), labels, [
    { name: t("passrate"), values: rows.map((r) => r.pass_rate) },
    { name: t("returned"), values: rows.map((r) => r.return_rate) },
  ], "%");
  line(document.getElementById("times"), labels, [
    { name: "p50", values: rows.map((r) => r.timings.request_decision.p50) },
    { name: "p90", values: rows.map((r) => r.timings.request_decision.p90) },
  ]);
  ranking(document.getElementById("reasons"),
          report.reasons.map((r) => ({ label: `${r.verdict} · ${r.code}`, value: r.count })));
  ranking(document.getElementById("scenes"),
          report.hot_scenes.map((r) => ({ label: r.name, value: r.cases })));
  const totals = document.getElementById("totals");
  totals.replaceChildren();
  for (const total of report.totals) {
    for (const key of ["requests", "required", "approved", "rejected", "returned"]) {
      totals.append(el("dt", { text: t(key) }), el("dd", { "data-total": key, text: String(total[key]) }));
    }
    totals.append(el("dt", { text: t("passrate") }),
                  el("dd", { text: `${(100 * total.pass_rate).toFixed(1)} %` }));
  }
}

async function main() {
  applyLabels();
  await signedIn();
  topBar("dashboard");
  document.getElementById("refresh").addEventListener("click", load);
  document.getElementById("by").addEventListener("change", load);
  load();
}

main();
