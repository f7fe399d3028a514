// plumetrace analyst map: Leaflet (xstatic-leaflet, served locally), the REST API under /api/v1 with the session
// cookie; every string from the store is inserted as text (textContent), never as markup.
"use strict";
const api = "/api/v1";
const RAMP = ["#00a000", "#a0c000", "#e0e000", "#ffc000", "#ff9000", "#ff6000", "#f03000", "#c00000"];
let csrf = null, me = null, map = null, layers = {}, control = null, sites = [], sortKey = "rank", sortDir = 1;
window.plumetraceReady = false;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  return e;
}
function text(v, digits) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") return digits === undefined ? String(v) : v.toFixed(digits);
  return String(v);
}
async function call(path, options) {
  const opts = Object.assign({credentials: "same-origin", headers: {}}, options || {});
  if (opts.method && opts.method !== "GET" && csrf) opts.headers["X-CSRF-Token"] = csrf;
  const r = await fetch(api + path, opts);
  if (!r.ok) {
    let msg = r.status + "";
    try { msg = (await r.json()).error.message; } catch (e) { /* not JSON */ }
    const err = new Error(msg); err.status = r.status; throw err;
  }
  return r;
}
async function json(path, options) { return (await call(path, options)).json(); }

async function start() {
  try { me = await json("/me"); csrf = me.csrf_token || null; await enter(); }
  catch (e) { document.getElementById("login-panel").hidden = false; }
}

document.getElementById("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const err = document.getElementById("login-error");
  err.textContent = "";
  try {
    me = await json("/session", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({username: document.getElementById("username").value,
                            password: document.getElementById("password").value})});
    csrf = me.csrf_token;
    document.getElementById("password").value = "";
    await enter();
  } catch (e) { err.textContent = e.message; }
});

document.getElementById("logout").addEventListener("click", async () => {
  try { await call("/session", {method: "DELETE"}); } finally { location.reload(); }
});

async function enter() {
  document.getElementById("login-panel").hidden = true;
  document.getElementById("workspace").hidden = false;
  document.getElementById("logout").hidden = false;
  document.getElementById("who").textContent = `${me.username} (${me.role}, ${me.organisation})`;
  document.getElementById("upload").hidden = !(me.role === "admin" || me.role === "analyst");
  if (!map) {
    map = L.map("map", {preferCanvas: false}).setView([0, 0], 2);
    const tiles = new URLSearchParams(location.search).get("tiles") || localStorage.getItem("plumetrace.tiles");
    if (tiles) L.tileLayer(tiles, {maxZoom: 20, attribution: "base map: " + new URL(tiles, location.href).host})
      .addTo(map);
    legend().addTo(map);
  }
  if (!me.partner) await loadMap();
  document.getElementById("sites-block").hidden = !!me.partner;  // a partner sees leads only
  await loadLeads();
  window.plumetraceReady = true;
  document.body.dataset.ready = "1";  // for tests and tools: readable without script evaluation (CSP)
}

function legend() {
  const c = L.control({position: "bottomright"});
  c.onAdd = () => {
    const d = el("div", {class: "legend"}, el("b", {}, "track enhancement"), el("br"));
    RAMP.forEach((col, i) => {
      const sw = el("i"); sw.style.background = col;
      d.appendChild(sw); d.appendChild(document.createTextNode(i === 0 ? "background" : i === RAMP.length - 1 ?
        "strongest" : "")); d.appendChild(el("br"));
    });
    return d;
  };
  return c;
}

function popupOf(lines) {
  const d = el("div");
  lines.forEach((t, i) => { if (i) d.appendChild(el("br")); d.appendChild(document.createTextNode(String(t))); });
  return d;
}

async function loadMap() {
  const data = await json("/map");
  for (const l of Object.values(layers)) map.removeLayer(l);
  if (control) map.removeControl(control);
  const L_ = data.layers;
  layers = {
    "buildings": L.geoJSON(L_.buildings, {style: {color: "#6b655c", weight: 1, fillColor: "#cfc8bb", fillOpacity: .6},
      onEachFeature: (f, l) => l.bindTooltip(popupOf([`building ${text((f.properties || {}).id)}`]))}),
    "flight tracks": L.geoJSON(L_.tracks, {style: f => ({color: RAMP[f.properties.level], weight: 3, opacity: .9})}),
    "hits": L.geoJSON(L_.hits, {pointToLayer: (f, ll) => L.circleMarker(ll, {radius: 4, color: "#1f5fbf"}),
      onEachFeature: (f, l) => l.bindPopup(popupOf([`hit ${text(f.properties.class)}`,
        `${text(f.properties.peak_sigma, 1)} σ`, `channels ${f.properties.channels.join(", ")}`]))}),
    "90 % regions (surveys)": L.geoJSON(L_.regions, {style: {color: "#8e44ad", weight: 1, fillOpacity: .08}}),
    "planned legs": L.geoJSON(L_.plans, {style: {color: "#0a8", weight: 3, dashArray: "6 4"}}),
    "sites": L.geoJSON(L_.sites, {
      style: f => f.properties.kind === "credible90" ? {color: "#c00", weight: 2, fillOpacity: .1} : {},
      pointToLayer: (f, ll) => L.circleMarker(ll, {radius: 7, color: "#c00", fillColor: "#f33", fillOpacity: .9}),
      onEachFeature: (f, l) => { if (f.properties.kind === "site") {
        l.bindPopup(popupOf([`#${f.properties.rank} ${text(f.properties.class)}`, `status ${f.properties.status}`,
          `confidence ${text(f.properties.confidence, 2)}`, `building ${text(f.properties.building_id)}`]));
        l.on("click", () => openSite(f.properties.id)); } }}),
  };
  layers["posterior"] = L.layerGroup();
  for (const [name, l] of Object.entries(layers)) if (name !== "90 % regions (surveys)") l.addTo(map);
  control = L.control.layers(null, layers, {collapsed: false}).addTo(map);
  if (data.bounds) map.fitBounds(data.bounds, {padding: [30, 30], maxZoom: 18});
  sites = L_.sites.features.filter(f => f.properties.kind === "site").map(f => f.properties);
  drawSites();
  await Promise.all(data.estimates.slice(0, 20).map(e => overlay(e.id)));
}

async function overlay(id) {
  try {
    const r = await call(`/estimates/${id}/posterior.png`);
    const b = r.headers.get("X-Image-Bounds").split(",").map(Number);
    const url = URL.createObjectURL(await r.blob());
    L.imageOverlay(url, [[b[0], b[1]], [b[2], b[3]]], {opacity: .75}).addTo(layers["posterior"]);
  } catch (e) { /* an estimate without a stored posterior */ }
}

function drawSites() {
  const q = document.getElementById("site-filter").value.toLowerCase();
  const rows = sites.filter(s => !q || [s.class, s.status, s.building_id].join(" ").toLowerCase().includes(q));
  rows.forEach(s => { s.seen = s.n_detected / Math.max(1, s.n_covering); });
  rows.sort((a, b) => (a[sortKey] > b[sortKey] ? 1 : a[sortKey] < b[sortKey] ? -1 : 0) * sortDir);
  const body = document.querySelector("#sites tbody");
  body.replaceChildren(...rows.map(s => {
    const tr = el("tr", {"data-site": s.id}, el("td", {}, text(s.rank)), el("td", {}, text(s.class)),
      el("td", {}, text(s.status)), el("td", {}, text(s.confidence, 2)), el("td", {}, text(s.building_id)),
      el("td", {}, text(s.credible90_radius_m, 0)), el("td", {}, `${s.n_detected}/${s.n_covering}`));
    tr.addEventListener("click", () => openSite(s.id));
    return tr;
  }));
}
document.getElementById("site-filter").addEventListener("input", drawSites);
document.querySelectorAll("#sites th[data-key]").forEach(th => th.addEventListener("click", () => {
  const k = th.dataset.key;
  sortDir = sortKey === k ? -sortDir : 1; sortKey = k;
  document.querySelectorAll("#sites th").forEach(t => t.classList.toggle("sorted", t === th));
  drawSites();
}));
document.getElementById("close-panel").addEventListener("click", () => {
  document.getElementById("site-panel").hidden = true; });

function series(s) {
  const W = 380, H = 110, P = 22, svgNS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(svgNS, "svg");
  svg.setAttribute("class", "series"); svg.setAttribute("width", W); svg.setAttribute("height", H);
  const t = s.time, t0 = t[0], t1 = t[t.length - 1] || t0 + 1;
  const all = Object.values(s.channels).flatMap(c => c.value.concat(c.background || [])).filter(v => v !== null);
  const lo = Math.min(...all), hi = Math.max(...all) || lo + 1;
  const x = v => P + (v - t0) / Math.max(1e-9, t1 - t0) * (W - 2 * P);
  const y = v => H - P - (v - lo) / Math.max(1e-9, hi - lo) * (H - 2 * P);
  const band = document.createElementNS(svgNS, "rect");
  band.setAttribute("x", x(s.t_start)); band.setAttribute("width", Math.max(1, x(s.t_end) - x(s.t_start)));
  band.setAttribute("y", P); band.setAttribute("height", H - 2 * P); band.setAttribute("fill", "#fde6c8");
  svg.appendChild(band);
  const colours = ["#c0392b", "#2471a3", "#229954", "#7d3c98", "#b9770e"];
  Object.entries(s.channels).forEach(([name, c], i) => {
    for (const [vals, dash] of [[c.value, ""], [c.background || [], "3 2"]]) {
      const pts = vals.map((v, k) => v === null ? null : `${x(t[k]).toFixed(1)},${y(v).toFixed(1)}`).filter(Boolean);
      if (!pts.length) continue;
      const pl = document.createElementNS(svgNS, "polyline");
      pl.setAttribute("points", pts.join(" ")); pl.setAttribute("fill", "none");
      pl.setAttribute("stroke", colours[i % colours.length]); pl.setAttribute("stroke-width", "1.2");
      if (dash) pl.setAttribute("stroke-dasharray", dash);
      svg.appendChild(pl);
    }
    const lab = document.createElementNS(svgNS, "text");
    lab.setAttribute("x", P + 4 + i * 90); lab.setAttribute("y", 14); lab.setAttribute("font-size", "10");
    lab.setAttribute("fill", colours[i % colours.length]); lab.textContent = name;
    svg.appendChild(lab);
  });
  return svg;
}

async function openSite(id) {
  const ev = await json(`/sites/${id}/evidence`);
  openSiteId = id;
  document.getElementById("make-lead").hidden = !(me.role === "admin" || me.role === "analyst");
  const s = ev.site, panel = document.getElementById("site-panel");
  document.getElementById("site-title").textContent = `Site ${s.id}: ${s.class}`;
  const ci = ev.rate_ci90_g_s;
  document.getElementById("site-summary").replaceChildren(popupOf([
    `status ${s.status}, ${s.activity}; confidence ${text(s.confidence, 2)}`,
    `building ${text(s.building_id)}; 90 % radius ${text(s.credible90_radius_m, 0)} m`,
    `rate ${text(s.rate_g_s, 3)} g/s` + (ci ? ` (90 % ${ci[0].toPrecision(2)}–${ci[1].toPrecision(2)} g/s)` : ""),
    `seen on ${s.n_detected} of ${s.n_covering} surveys`]));
  document.getElementById("site-classes").replaceChildren(...Object.entries(ev.class_probabilities)
    .sort((a, b) => b[1] - a[1]).slice(0, 5).map(([k, v]) => {
      const bar = el("span", {class: "bar"}); bar.style.width = `${Math.round(150 * v)}px`;
      return el("div", {}, bar, ` ${k} ${text(v, 2)}`);
    }));
  document.getElementById("site-surveys").replaceChildren(...ev.surveys.map(h => el("li", {},
    `survey ${h.survey}: ${h.detected ? "seen" : "not seen"}` + (h.log_bf !== null && h.log_bf !== undefined ?
      ` (log BF ${h.log_bf.toFixed(1)})` : "") + (h.path ? ` — ${h.path.split("/").pop()}` : ""))));
  document.getElementById("site-hits").replaceChildren(...ev.hits.map(h => {
    const ratios = Object.entries(h.ratios || {}).map(([k, r]) =>
      `${k}/${(r && r.reference) || "ref"} ${r && typeof r.ratio === "number" ? r.ratio.toPrecision(2) : "–"}`);
    const d = el("div", {class: "hit"}, el("b", {}, `hit ${h.id}: ${text(h.peak_sigma, 1)} σ, ${h.class}`),
      el("br"), `${h.distance_m} m downwind; ratios: ${ratios.join(", ") || "–"}`);
    if (h.series) d.appendChild(series(h.series));
    return d;
  }));
  panel.hidden = false;
  const f = sites.find(x => x.id === id);
  if (f) map.setView([f.lat, f.lon], Math.max(map.getZoom(), 17));
}

const TLP = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"];
const ACTIONS = ["inspection", "dismantling", "other"];
const OUTCOMES = ["confirmed", "nothing_found", "relocated", "false_positive", "duplicate"];
let openSiteId = null, openLeadId = null, leadShape = null;
function options(select, values, chosen) {
  select.replaceChildren(...values.map(v => { const o = el("option", {value: v}, v); if (v === chosen) o.selected = true;
                                              return o; }));
}
options(document.getElementById("lead-tlp"), TLP, "AMBER");
options(document.getElementById("share-tlp"), TLP, "AMBER");
options(document.getElementById("action-kind"), ACTIONS);
options(document.getElementById("close-outcome"), OUTCOMES);

async function loadLeads() {
  try {
    const data = await json("/leads");
    document.querySelector("#leads tbody").replaceChildren(...data.leads.map(l => {
      const tr = el("tr", l.overdue ? {class: "overdue", title: "overdue against the partner's target"} : {},
        el("td", {}, text(l.id)), el("td", {}, l.title), el("td", {}, l.state + (l.overdue ? " (overdue)" : "")),
        el("td", {}, "TLP:" + l.tlp), el("td", {}, text(l.partner)));
      tr.dataset.lead = l.id;
      tr.addEventListener("click", () => openLead(l.id));
      return tr;
    }));
  } catch (e) { /* no leads endpoint for this role */ }
}

async function openLead(id) {
  const l = await json(`/leads/${id}`);
  openLeadId = id;
  const panel = document.getElementById("lead-panel");
  panel.dataset.state = l.state;
  document.getElementById("lead-title-h").textContent = `Lead ${l.id}: ${l.title}`;
  const s = (l.snapshot || {}).site || {};
  document.getElementById("lead-summary").replaceChildren(popupOf([
    `TLP:${l.tlp} — ${l.state}` + (l.partner ? ` — shared with ${l.partner}` : ""),
    `site ${text(l.site_id)}: ${text(s.class)} (confidence ${text(s.confidence, 2)}), ${text(s.lat, 6)}, ` +
      `${text(s.lon, 6)}; 90 % radius ${text(s.credible90_radius_m, 0)} m`,
    `author ${text(l.author)}; reviewer ${text(l.reviewer)}; version ${l.version}` +
      (l.outcome ? `; outcome ${l.outcome}` : "")]));
  document.getElementById("lead-buildings").replaceChildren(...((l.snapshot || {}).buildings || []).map(b =>
    el("li", {}, `${b.building_id}: ` + (b.probability === null ? "–" : `${Math.round(100 * b.probability)} %`))));
  document.getElementById("lead-events").replaceChildren(...(l.events || []).map(e => el("li", {},
    `${e.at.replace("T", " ").slice(0, 19)} ${e.kind} by ${text(e.actor)}` + (e.comment ? ` — ${e.comment}` : ""))));
  document.getElementById("lead-brief").replaceChildren(...["brief.html", "brief.pdf", "lead.kml", "lead.geojson",
    "lead.stix.json"].flatMap(n => [el("a", {href: `${api}/leads/${id}/brief/${n}`, download: n}, n), " "]));
  const can = {
    review: me.role === "reviewer" && l.state === "draft" && l.author !== me.username,
    share: !me.partner && me.role !== "partner" && l.state === "reviewed",
    ack: me.partner && l.state === "shared" && l.partner === me.organisation,
    action: me.partner && ["acknowledged", "actioned"].includes(l.state) && l.partner === me.organisation,
    close: ["acknowledged", "actioned"].includes(l.state) &&
      ((me.partner && l.partner === me.organisation) || me.role === "admin")};
  for (const [k, v] of Object.entries(can)) document.getElementById(`lead-${k}`).hidden = !v;
  if (can.share) {
    try { options(document.getElementById("share-partner"), (await json("/partners")).partners.map(p => p.name)); }
    catch (e) { /* none */ }
  }
  document.getElementById("lead-error").textContent = "";
  panel.hidden = false;
  if (s.lat !== undefined && s.lat !== null && map) {
    if (leadShape) leadShape.remove();
    leadShape = L.circle([s.lat, s.lon], {radius: s.credible90_radius_m || 10, color: "#8a5a00", weight: 2,
                                          fillOpacity: 0.15}).bindTooltip(`lead ${l.id}: 90 % region`).addTo(map);
    map.setView([s.lat, s.lon], Math.max(map.getZoom(), 17));
  }
}
document.getElementById("close-lead").addEventListener("click", () => {
  document.getElementById("lead-panel").hidden = true; });

async function step(path, body) {
  const err = document.getElementById("lead-error");
  err.textContent = "";
  try {
    const l = await json(path, {method: "POST", headers: {"Content-Type": "application/json"},
                                body: JSON.stringify(body)});
    await loadLeads();
    await openLead(l.id);
  } catch (e) { err.textContent = e.message; }
}
function onSubmit(id, fn) {
  document.getElementById(id).addEventListener("submit", ev => { ev.preventDefault(); fn(); });
}
onSubmit("make-lead", () => step("/leads", {site_id: openSiteId, tlp: document.getElementById("lead-tlp").value,
                                            title: document.getElementById("lead-title").value || null}));
onSubmit("lead-review", () => step(`/leads/${openLeadId}/review`,
                                   {comment: document.getElementById("review-comment").value || null}));
onSubmit("lead-share", () => step(`/leads/${openLeadId}/share`, {
  partner: document.getElementById("share-partner").value, tlp: document.getElementById("share-tlp").value,
  recipients: document.getElementById("share-recipients").value.split(",").map(x => x.trim()).filter(Boolean)}));
onSubmit("lead-ack", () => step(`/leads/${openLeadId}/acknowledge`, {}));
onSubmit("lead-action", () => step(`/leads/${openLeadId}/action`, {
  kind: document.getElementById("action-kind").value,
  comment: document.getElementById("action-comment").value || null}));
onSubmit("lead-close", () => step(`/leads/${openLeadId}/close`,
                                  {outcome: document.getElementById("close-outcome").value}));

document.getElementById("upload").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const file = document.getElementById("upload-file").files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  const sensor = document.getElementById("upload-sensor").files[0];
  if (sensor) form.append("sensor", sensor);
  const bar = document.getElementById("upload-progress"), status = document.getElementById("upload-status");
  bar.hidden = false; bar.value = 0; status.textContent = "uploading";
  const xhr = new XMLHttpRequest();
  xhr.open("POST", api + "/surveys");
  xhr.setRequestHeader("X-CSRF-Token", csrf || "");
  xhr.upload.onprogress = e => { if (e.lengthComputable) bar.value = 0.3 * e.loaded / e.total; };
  xhr.onload = () => {
    let body = {};
    try { body = JSON.parse(xhr.responseText); } catch (e) { /* empty */ }
    if (xhr.status >= 400) { status.textContent = "refused: " + ((body.error || {}).message || xhr.status); return; }
    if (!body.job) { status.textContent = `already stored (survey ${body.survey_id})`; bar.value = 1; return; }
    watch(body.job.id, bar, status);
  };
  xhr.onerror = () => { status.textContent = "upload failed"; };
  xhr.send(form);
});

async function watch(jobId, bar, status) {
  const j = await json(`/jobs/${jobId}`);
  bar.value = 0.3 + 0.7 * j.progress;
  status.textContent = `job ${j.id}: ${j.status} (${j.stage})` + (j.message ? ` — ${j.message}` : "");
  status.dataset.status = j.status;
  if (j.status === "done") { await loadMap(); status.dataset.loaded = "1"; return; }
  if (j.status === "failed") return;
  setTimeout(() => watch(jobId, bar, status), 700);
}

start();
