/**
 * The status page, as strings: HTML, CSS and script, embedded so that `deno compile` needs no
 * extra files. No framework, no CDN, no build step; readable on a phone; dark when the system is.
 *
 * Everything a client chose (user names, paths, commands) reaches the page as JSON and is put
 * in the document with `textContent` only, never as markup; the Content-Security-Policy sent
 * with it (see `http.ts`) allows no inline script at all, as a second line of defence.
 *
 * The page reads `events` (Server-Sent Events: a `state`, then a `view` every second and each
 * `activity`) and falls back to polling `status.json` every two seconds when that fails.
 * URLs are relative, so the page also works behind a reverse proxy under a path prefix.
 *
 * @module
 */

/** `GET /` */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>ftpgate status</title>
<link rel="stylesheet" href="app.css">
</head>
<body>
<header>
  <h1>ftpgate</h1>
  <span id="state" class="badge">connecting</span>
  <span id="meta" class="muted"></span>
</header>
<main>
  <section class="cards" aria-label="Summary">
    <div class="card"><span class="label">Sessions</span><span id="n-sessions" class="value">–</span></div>
    <div class="card"><span class="label">Transfers</span><span id="n-transfers" class="value">–</span></div>
    <div class="card"><span class="label">In</span><span id="rate-in" class="value">–</span></div>
    <div class="card"><span class="label">Out</span><span id="rate-out" class="value">–</span></div>
    <div class="card"><span class="label">Passive ports</span><span id="n-passive" class="value">–</span></div>
    <div class="card"><span class="label">Banned</span><span id="n-banned" class="value">–</span></div>
  </section>
  <section>
    <h2>Throughput <small class="muted">last 5 minutes</small></h2>
    <div class="chart">
      <span id="chart-max" class="chart-max"></span>
      <svg id="chart" viewBox="0 0 600 150" preserveAspectRatio="none" role="img" aria-label="Throughput chart">
        <polygon id="area-in" class="in" points=""></polygon>
        <polygon id="area-out" class="out" points=""></polygon>
        <polyline id="line-in" class="in" points=""></polyline>
        <polyline id="line-out" class="out" points=""></polyline>
      </svg>
      <div class="chart-axis"><span>−5 min</span><span>now</span></div>
    </div>
    <p class="legend"><span class="key in"></span>in (uploads) <span class="key out"></span>out (downloads)</p>
  </section>
  <section>
    <h2>Transfers</h2>
    <div id="transfers"></div>
    <p id="no-transfers" class="muted">No transfers running.</p>
  </section>
  <section>
    <h2>Sessions</h2>
    <div class="scroll">
      <table id="sessions">
        <thead><tr><th>#</th><th>User</th><th>Address</th><th>Since</th><th>Command</th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
    <p id="no-sessions" class="muted">No one connected.</p>
  </section>
  <section>
    <h2>Recent events</h2>
    <ol id="events"></ol>
  </section>
  <section>
    <h2>Configuration</h2>
    <dl id="config"></dl>
  </section>
</main>
<script src="app.js" defer></script>
</body>
</html>
`;

/** `GET /app.css` */
export const PAGE_CSS = `:root {
  --bg: #f6f7f9; --fg: #1b1f24; --muted: #687280; --card: #fff; --line: #d8dde3;
  --in: #1f77b4; --out: #e8740c; --ok: #1a7f37; --warn: #b35900; --bad: #c62828;
  font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #111418; --fg: #e6e9ed; --muted: #98a2ae; --card: #1b2027; --line: #2e353f; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .6rem; padding: .8rem 1rem;
  border-bottom: 1px solid var(--line); background: var(--card); }
h1 { font-size: 1.25rem; margin: 0; }
h2 { font-size: 1.05rem; margin: 1.2rem 0 .5rem; }
main { max-width: 1100px; margin: 0 auto; padding: 0 1rem 2rem; }
.muted { color: var(--muted); }
.badge { font-size: .8rem; padding: .1rem .5rem; border-radius: 1rem; background: var(--muted); color: #fff; }
.badge.live { background: var(--ok); } .badge.draining { background: var(--warn); } .badge.down { background: var(--bad); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: .6rem; margin-top: 1rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: .5rem; padding: .6rem .8rem;
  display: flex; flex-direction: column; }
.card .label { font-size: .8rem; color: var(--muted); }
.card .value { font-size: 1.3rem; font-variant-numeric: tabular-nums; }
.chart { position: relative; background: var(--card); border: 1px solid var(--line); border-radius: .5rem;
  padding: .4rem .5rem .2rem; }
.chart-max, .chart-axis { font-size: .75rem; color: var(--muted); font-variant-numeric: tabular-nums; }
.chart-max { position: absolute; top: .3rem; left: .6rem; }
.chart-axis { display: flex; justify-content: space-between; border-top: 1px solid var(--line); }
svg#chart { display: block; width: 100%; height: 140px; }
svg#chart polyline { fill: none; stroke-width: 2; vector-effect: non-scaling-stroke; }
svg#chart polygon { stroke: none; opacity: .15; }
svg#chart .in { stroke: var(--in); } svg#chart .out { stroke: var(--out); }
svg#chart polygon.in { fill: var(--in); } svg#chart polygon.out { fill: var(--out); }
.legend { font-size: .85rem; color: var(--muted); margin: .3rem 0 0; }
.key { display: inline-block; width: .8rem; height: .8rem; border-radius: .2rem; margin: 0 .3rem 0 .6rem; vertical-align: -1px; }
.key.in { background: var(--in); } .key.out { background: var(--out); }
.transfer { background: var(--card); border: 1px solid var(--line); border-radius: .5rem; padding: .5rem .8rem; margin-bottom: .5rem; }
.transfer .top { display: flex; flex-wrap: wrap; gap: 0 .5rem; align-items: baseline; }
.transfer .path { font-family: ui-monospace, monospace; overflow-wrap: anywhere; flex: 1 1 14rem; min-width: 0; }
.transfer .dir { font-weight: 600; }
.transfer .dir.in { color: var(--in); } .transfer .dir.out, .transfer .dir.list { color: var(--out); }
.transfer progress { width: 100%; height: .8rem; margin: .35rem 0 .1rem; accent-color: var(--in); }
.transfer.out progress { accent-color: var(--out); }
.transfer .facts { font-size: .85rem; color: var(--muted); font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); border-radius: .5rem; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
td.command { font-family: ui-monospace, monospace; white-space: normal; overflow-wrap: anywhere; }
th { font-size: .8rem; color: var(--muted); font-weight: 600; }
ol#events { list-style: none; padding: 0; margin: 0; font-size: .9rem; }
ol#events li { padding: .25rem 0; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
ol#events .time { color: var(--muted); font-variant-numeric: tabular-nums; margin-right: .4rem; }
ol#events .type { font-weight: 600; margin-right: .4rem; }
ol#events .type.bad { color: var(--bad); }
dl#config { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0; font-size: .9rem; }
dl#config dt { color: var(--muted); } dl#config dd { margin: 0; overflow-wrap: anywhere; }
@media (max-width: 600px) {
  .card .value { font-size: 1.1rem; }
  /* Sessions as stacked rows: user · address · since, then the command. */
  #sessions thead, #sessions td:nth-child(1) { display: none; }
  #sessions, #sessions tbody, #sessions tr { display: block; }
  #sessions tr { padding: .4rem .6rem; border-bottom: 1px solid var(--line); }
  #sessions td { display: inline; border: none; padding: 0; white-space: normal; overflow-wrap: anywhere; }
  #sessions td.user { font-weight: 600; }
  #sessions td:nth-child(n+3):not(.command)::before { content: " · "; color: var(--muted); }
  #sessions td.command { display: block; font-size: .85rem; color: var(--muted); }
}
`;

/** `GET /app.js`: plain ES2017, no template literals (this file is one). */
export const PAGE_JS = `(function () {
  "use strict";
  var HISTORY_MS = 300000;
  var MAX_EVENTS = 50;
  var view = null;
  var history = [];

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function bytes(n) {
    var units = ["B", "KiB", "MiB", "GiB", "TiB"];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(Math.round(n)) : n.toFixed(n < 10 ? 2 : 1)) + " " + units[i];
  }
  function rate(n) { return bytes(n) + "/s"; }
  function duration(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    if (d > 0) return d + "d " + h + "h";
    if (h > 0) return h + "h " + m + "m";
    if (m > 0) return m + "m " + (s % 60) + "s";
    return (s % 60) + "s";
  }
  function clock(iso) {
    var d = new Date(iso);
    function p(n) { return (n < 10 ? "0" : "") + n; }
    return p(d.getHours()) + ":" + p(d.getMinutes()) + ":" + p(d.getSeconds());
  }
  function replace(node, children) {
    while (node.firstChild) node.removeChild(node.firstChild);
    for (var i = 0; i < children.length; i++) node.appendChild(children[i]);
  }

  function renderView(v) {
    view = v;
    var badge = $("state");
    badge.textContent = v.draining ? "draining" : "live";
    badge.className = "badge " + (v.draining ? "draining" : "live");
    $("meta").textContent = "version " + v.version + " · up " + duration(v.uptime_s * 1000);
    $("n-sessions").textContent = String(v.sessions.length);
    $("n-transfers").textContent = String(v.transfers.length);
    var last = v.throughput || { in: 0, out: 0 };
    $("rate-in").textContent = rate(last.in);
    $("rate-out").textContent = rate(last.out);
    $("n-passive").textContent = String(v.counts.passiveListeners);
    $("n-banned").textContent = String(v.counts.bannedAddresses);
    renderTransfers(v);
    renderSessions(v);
    renderConfig(v.config);
  }

  function renderTransfers(v) {
    var rows = v.transfers.map(function (t) {
      var box = el("div", "transfer " + t.direction);
      box.setAttribute("data-session", String(t.session));
      var top = el("div", "top");
      top.appendChild(el("span", "dir " + t.direction, t.direction === "in" ? "↑ in" : t.direction === "out" ? "↓ out" : "≡ list"));
      var path = el("span", "path", t.path);
      path.title = t.path;
      top.appendChild(path);
      top.appendChild(el("span", "muted", t.user));
      box.appendChild(top);
      var bar = document.createElement("progress");
      bar.setAttribute("data-bytes", String(t.bytes));
      if (typeof t.size === "number" && t.size > 0) {
        bar.max = t.size;
        bar.value = Math.min(t.bytes, t.size);
      } else {
        bar.removeAttribute("value"); // indeterminate: size unknown (uploads)
      }
      box.appendChild(bar);
      var facts = bytes(t.bytes);
      if (typeof t.size === "number" && t.size > 0) {
        facts += " of " + bytes(t.size) + " (" + Math.floor(100 * Math.min(t.bytes, t.size) / t.size) + " %)";
      }
      facts += " · " + rate(t.rate) + " · " + t.command + " · " + duration(v.now - t.started);
      box.appendChild(el("div", "facts", facts));
      return box;
    });
    replace($("transfers"), rows);
    $("no-transfers").hidden = rows.length > 0;
  }

  function renderSessions(v) {
    var rows = v.sessions.map(function (s) {
      var tr = el("tr");
      tr.setAttribute("data-session", String(s.id));
      tr.appendChild(el("td", "", s.id));
      tr.appendChild(el("td", "user", s.user === undefined || s.user === null ? "–" : s.user));
      tr.appendChild(el("td", "", s.remote + (s.secure ? " 🔒" : "")));
      tr.appendChild(el("td", "", duration(v.now - s.since)));
      tr.appendChild(el("td", "command", s.command || ""));
      return tr;
    });
    replace(document.querySelector("#sessions tbody"), rows);
    $("no-sessions").hidden = rows.length > 0;
  }

  function renderConfig(config) {
    var items = [];
    Object.keys(config).forEach(function (key) {
      var value = config[key];
      items.push(el("dt", "", key));
      items.push(el("dd", "", Array.isArray(value) ? value.join(", ") : value === null ? "–" : String(value)));
    });
    replace($("config"), items);
  }

  function renderChart() {
    var now = view ? view.now : Date.now();
    var points = history.filter(function (p) { return p.t > now - HISTORY_MS; });
    var max = 1024;
    points.forEach(function (p) { max = Math.max(max, p.in, p.out); });
    function line(key) {
      return points.map(function (p) {
        var x = 600 * (1 - (now - p.t) / HISTORY_MS);
        var y = 148 - 136 * p[key] / max;
        return x.toFixed(1) + "," + y.toFixed(1);
      }).join(" ");
    }
    function area(key, line) {
      if (points.length === 0) return "";
      var x0 = (600 * (1 - (now - points[0].t) / HISTORY_MS)).toFixed(1);
      var x1 = (600 * (1 - (now - points[points.length - 1].t) / HISTORY_MS)).toFixed(1);
      return x0 + ",150 " + line + " " + x1 + ",150";
    }
    var lineIn = line("in"), lineOut = line("out");
    $("line-in").setAttribute("points", lineIn);
    $("line-out").setAttribute("points", lineOut);
    $("area-in").setAttribute("points", area("in", lineIn));
    $("area-out").setAttribute("points", area("out", lineOut));
    $("chart-max").textContent = rate(max);
  }

  var BAD = { "login.failed": 1, "upload.failed": 1, "download.failed": 1, "ban": 1 };
  function addActivity(a) {
    var li = el("li");
    li.appendChild(el("span", "time", clock(a.time)));
    li.appendChild(el("span", "type" + (BAD[a.type] ? " bad" : ""), a.type));
    var text = [];
    if (a.user) text.push(a.user);
    text.push(a.remote_address);
    if (a.path) text.push(a.path + (a.to ? " → " + a.to : ""));
    if (typeof a.size === "number") text.push(bytes(a.size));
    li.appendChild(el("span", "what", text.join(" · ")));
    var list = $("events");
    list.insertBefore(li, list.firstChild);
    while (list.children.length > MAX_EVENTS) list.removeChild(list.lastChild);
  }

  function applyState(s) {
    history = s.history.slice();
    replace($("events"), []);
    s.activities.forEach(addActivity);
    renderView(s);
    renderChart();
  }

  function onView(v) {
    if (v.throughput) {
      history.push(v.throughput);
      while (history.length > 0 && history[0].t <= v.now - HISTORY_MS) history.shift();
    }
    renderView(v);
    renderChart();
  }

  function down() {
    var badge = $("state");
    badge.textContent = "reconnecting";
    badge.className = "badge down";
  }

  function poll() {
    fetch("status.json", { cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(applyState, down)
      .then(function () { setTimeout(poll, 2000); });
  }

  function connect() {
    if (typeof EventSource !== "function") return poll();
    var failures = 0;
    var source = new EventSource("events");
    source.addEventListener("state", function (e) { failures = 0; applyState(JSON.parse(e.data)); });
    source.addEventListener("view", function (e) { onView(JSON.parse(e.data)); });
    source.addEventListener("activity", function (e) { addActivity(JSON.parse(e.data)); });
    source.onerror = function () {
      down();
      if (++failures >= 5) { source.close(); poll(); }
    };
  }

  connect();
})();
`;
