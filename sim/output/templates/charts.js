/* The report's charts, drawn as SVG from the data the page carries (no library, no network). */
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("chart-data").textContent);
  var L = DATA.labels;
  var NS = "http://www.w3.org/2000/svg";
  var W = 720, RIGHT = 24, ROW = 22, TOP = 10, AXIS = 34;
  var VARIANT = ["#3b6fb6", "#e07b39", "#4c9a5d", "#8e5ea2", "#c7463c", "#2a9d9f", "#b08b2e",
                 "#6c757d", "#d16ba5", "#5a6fd6", "#7f8c3a", "#a0522d"];
  var AGENCY = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                "#7f7f7f", "#bcbd22", "#17becf", "#1b9e77", "#d95f02", "#7570b3", "#e7298a"];
  var KIND = ["#f2b134", "#3b6fb6", "#8fb3de", "#d1495b", "#b0a8b9"];

  function el(name, attrs, parent, text) {
    var node = document.createElementNS(NS, name);
    for (var key in attrs) { if (attrs[key] !== null && attrs[key] !== undefined) node.setAttribute(key, attrs[key]); }
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }
  function width(text) {  /* display width at 11px: CJK characters are square */
    var w = 0;
    for (var i = 0; i < text.length; i++) { w += text.charCodeAt(i) > 0x2e80 ? 11 : 6.2; }
    return w;
  }
  function fit(text, room) {
    if (width(text) <= room) return text;
    var out = "";
    for (var i = 0; i < text.length && width(out + text[i] + "…") <= room; i++) out += text[i];
    return out + "…";
  }
  function svg(box, height) {
    var root = el("svg", {viewBox: "0 0 " + W + " " + height, role: "img"}, null);
    box.appendChild(root);
    return root;
  }
  function gutter(labels) {
    var most = 60;
    labels.forEach(function (t) { most = Math.max(most, width(t) + 14); });
    return Math.min(most, 260);
  }
  function nice(max) {
    if (!(max > 0)) return 1;
    var step = Math.pow(10, Math.floor(Math.log10(max)));
    var top = Math.ceil(max / step) * step;
    return top / step <= 2 ? Math.ceil(max / (step / 5)) * (step / 5) : top;
  }
  function ticks(low, high) {
    var span = high - low, raw = span / 5, step = Math.pow(10, Math.floor(Math.log10(raw || 1)));
    [1, 2, 5, 10].some(function (m) { if (span / (step * m) <= 6) { step = step * m; return true; } return false; });
    var out = [];
    for (var v = Math.ceil(low / step) * step; v <= high + 1e-9; v += step) out.push(Math.round(v * 1e6) / 1e6);
    return out;
  }
  /* Horizontal rows with an x axis; returns the scale. */
  function frame(root, left, rows, low, high, label, height) {
    var x = function (v) { return left + (v - low) / (high - low || 1) * (W - left - RIGHT); };
    var grid = el("g", {"class": "grid"}, root), axis = el("g", {"class": "axis"}, root);
    var bottom = TOP + rows * ROW;
    ticks(low, high).forEach(function (t) {
      el("line", {x1: x(t), x2: x(t), y1: TOP, y2: bottom}, grid);
      el("text", {x: x(t), y: bottom + 13, "text-anchor": "middle"}, axis, String(t));
    });
    el("line", {x1: left, x2: W - RIGHT, y1: bottom, y2: bottom, stroke: "#999"}, axis);
    el("text", {x: (left + W - RIGHT) / 2, y: bottom + 28, "text-anchor": "middle"}, axis, label);
    return x;
  }
  function rowLabels(root, labels, left, y) {
    labels.forEach(function (t, i) {
      var node = el("text", {x: left - 6, y: y(i) + 4, "text-anchor": "end"}, root, fit(t, left - 10));
      el("title", {}, node, t);
    });
  }
  function empty(box) {
    var root = svg(box, 40);
    el("text", {x: W / 2, y: 24, "text-anchor": "middle"}, root, L.no_data);
  }
  function legend(root, items, y) {
    var x = 8;
    items.forEach(function (item) {
      if (item.line) el("line", {x1: x, x2: x + 14, y1: y - 4, y2: y - 4, stroke: item.colour, "stroke-width": 2, "stroke-dasharray": item.dash || null}, root);
      else el("rect", {x: x, y: y - 10, width: 12, height: 10, fill: item.colour, stroke: item.stroke || null, "fill-opacity": item.opacity || 1}, root);
      el("text", {x: x + 17, y: y}, root, item.label);
      x += 30 + width(item.label);
    });
  }
  /* A dot with its interval per row (shares, utilisation, contributions). */
  function dots(box, labels, values, label, opts) {
    opts = opts || {};
    var shown = values.filter(function (v) { return v && v[0] !== null; });
    if (!shown.length) return empty(box);
    var low = opts.low !== undefined ? opts.low : 0, high = opts.high;
    if (high === undefined) {
      high = 0; shown.forEach(function (v) { high = Math.max(high, v[2] !== null ? v[2] : v[0], v[0]); });
      high = nice(high * 1.05);
    }
    if (opts.signed) {
      low = 0; shown.forEach(function (v) { low = Math.min(low, v[1] !== null ? v[1] : v[0], v[0]); });
      low = low < 0 ? -nice(-low * 1.05) : 0;
    }
    var left = gutter(labels), height = TOP + labels.length * ROW + AXIS + 4;
    var root = svg(box, height), x = frame(root, left, labels.length, low, high, label, height);
    var y = function (i) { return TOP + i * ROW + ROW / 2; };
    if (opts.line !== undefined) el("line", {x1: x(opts.line), x2: x(opts.line), y1: TOP, y2: TOP + labels.length * ROW, stroke: "#d1495b", "stroke-dasharray": "4 3"}, root);
    rowLabels(root, labels, left, y);
    values.forEach(function (v, i) {
      if (!v || v[0] === null) return;
      var colour = opts.colours ? opts.colours[i % opts.colours.length] : "#3b6fb6";
      if (v[1] !== null && v[2] !== null) {
        el("line", {x1: x(v[1]), x2: x(v[2]), y1: y(i), y2: y(i), stroke: colour, "stroke-width": 2}, root);
        [v[1], v[2]].forEach(function (e) { el("line", {x1: x(e), x2: x(e), y1: y(i) - 4, y2: y(i) + 4, stroke: colour}, root); });
      }
      el("circle", {cx: x(v[0]), cy: y(i), r: 4, fill: colour}, root);
      var text = String(v[0]) + (opts.unit || "");
      if (v[3]) text += " ⚠";
      el("text", {x: x(v[0]) + 7, y: y(i) - 5, "font-size": 10, fill: v[3] ? "#d1495b" : "#333"}, root, text);
    });
  }
  function cycle(box, p) {
    var rows = p.cycle;
    if (!rows.length || !rows.some(function (r) { return r && r.n; })) return empty(box);
    var high = p.target || 0;
    rows.forEach(function (r) { if (r && r.n) high = Math.max(high, r.q[6]); });
    high = nice(high * 1.05);
    var left = gutter(p.titles), n = p.titles.length, height = TOP + n * ROW + AXIS + 22;
    var root = svg(box, height), x = frame(root, left, n, 0, high, L.working_days, height);
    var y = function (i) { return TOP + i * ROW + ROW / 2; };
    rowLabels(root, p.titles, left, y);
    rows.forEach(function (r, i) {
      if (!r || !r.n) return;
      var q = r.q, c = VARIANT[i % VARIANT.length];
      el("line", {x1: x(q[0]), x2: x(q[6]), y1: y(i), y2: y(i), stroke: c}, root);
      el("rect", {x: x(q[2]), y: y(i) - 6, width: Math.max(1, x(q[4]) - x(q[2])), height: 12, fill: c, "fill-opacity": 0.35, stroke: c}, root);
      el("circle", {cx: x(q[3]), cy: y(i), r: 3.5, fill: "#111"}, root);
      el("line", {x1: x(q[5]), x2: x(q[5]), y1: y(i) - 8, y2: y(i) + 8, stroke: "#d1495b", "stroke-width": 2}, root);
      el("title", {}, el("rect", {x: x(q[0]), y: y(i) - 9, width: Math.max(2, x(q[6]) - x(q[0])), height: 18, fill: "transparent"}, root),
         "P5 " + q[0] + " · P25 " + q[2] + " · " + L.median + " " + q[3] + " · P75 " + q[4] + " · P90 " + q[5] + " · P95 " + q[6] + " (n = " + r.n + ")");
    });
    if (p.target !== null) el("line", {x1: x(p.target), x2: x(p.target), y1: TOP, y2: TOP + n * ROW, stroke: "#d1495b", "stroke-dasharray": "4 3"}, root);
    legend(root, [{label: L.box, colour: "#3b6fb6", opacity: 0.35, stroke: "#3b6fb6"}, {label: L.median, colour: "#111"},
                  {label: L.p90, colour: "#d1495b", line: true}, {label: L.target.replace("{target}", p.target), colour: "#d1495b", line: true, dash: "4 3"}], height - 4);
  }
  function share(box, p) {
    dots(box, p.titles, p.share, L.share, {low: 0, high: 100, unit: "%", colours: VARIANT});
  }
  function gantt(box, p, variant) {
    var g = p.gantt[variant];
    if (!g) return empty(box);
    var names = g.lines.map(function (line) { return (line[1] ? "▶ " : "") + line[0]; });
    names.push(L.clock);
    var high = 0;
    g.segments.forEach(function (s) { high = Math.max(high, s[3]); });
    high = nice(high * 1.02);
    var left = gutter(names), n = names.length, height = TOP + n * ROW + AXIS + 22;
    var root = svg(box, height), x = frame(root, left, n, 0, high, L.days_from_arrival, height);
    var y = function (i) { return TOP + i * ROW + ROW / 2; };
    rowLabels(root, names, left, y);
    var defs = el("defs", {}, root), id = "h-" + box.getAttribute("data-procedure") + "-" + variant;
    var pattern = el("pattern", {id: id, width: 5, height: 5, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)"}, defs);
    el("line", {x1: 0, y1: 0, x2: 0, y2: 5, stroke: "#fff", "stroke-width": 2, "stroke-opacity": 0.7}, pattern);
    var clock = [];
    g.segments.forEach(function (s) {
      var kind = s[1], colour = kind === 1 ? AGENCY[s[6] % AGENCY.length] : (kind === 0 || kind === 2 ? AGENCY[s[6] % AGENCY.length] : KIND[kind]);
      var bar = el("rect", {x: x(s[2]), y: y(s[0]) - 7, width: Math.max(0.8, x(s[3]) - x(s[2])), height: 14, fill: colour,
                            "fill-opacity": kind === 1 ? 1 : (kind === 3 || kind === 4 ? 0.9 : 0.35), stroke: s[5] ? "#000" : null, "stroke-width": s[5] ? 1 : null}, root);
      el("title", {}, bar, g.lines[s[0]][0] + " · " + g.agencies[s[6]] + " · " + L.kinds[kind] + " " + s[2] + "–" + s[3]);
      if (!s[4]) el("rect", {x: x(s[2]), y: y(s[0]) - 7, width: Math.max(0.8, x(s[3]) - x(s[2])), height: 14, fill: "url(#" + id + ")"}, root);
      else clock.push([s[2], s[3]]);
    });
    clock.sort(function (a, b) { return a[0] - b[0]; });
    var merged = [];
    clock.forEach(function (c) { var last = merged[merged.length - 1]; if (last && c[0] <= last[1]) last[1] = Math.max(last[1], c[1]); else merged.push([c[0], c[1]]); });
    merged.forEach(function (c) { el("rect", {x: x(c[0]), y: y(n - 1) - 4, width: Math.max(0.8, x(c[1]) - x(c[0])), height: 8, fill: "#333"}, root); });
    var items = g.agencies.map(function (a, i) { return {label: a, colour: AGENCY[i % AGENCY.length]}; });
    items.push({label: L.kinds[3], colour: KIND[3]}, {label: L.off_clock, colour: "#999", opacity: 0.5}, {label: L.critical, colour: "#fff", stroke: "#000"});
    legendRows(root, items, height - 4, box, height);
  }
  function legendRows(root, items, y, box, height) {
    var x = 8, lines = [[]];
    items.forEach(function (item) {
      var w = 30 + width(item.label);
      if (x + w > W && lines[lines.length - 1].length) { lines.push([]); x = 8; }
      lines[lines.length - 1].push(item); x += w;
    });
    var extra = (lines.length - 1) * 16;
    if (extra) { root.setAttribute("viewBox", "0 0 " + W + " " + (height + extra)); }
    lines.forEach(function (line, i) { legend(root, line, y + i * 16); });
  }
  function tail(box, p, variant) {
    var bars = p.tail[variant];
    if (!bars || !bars.length) return empty(box);
    var labels = bars.map(function (b) { return b[0]; }), high = 0;
    bars.forEach(function (b) { high = Math.max(high, b[1].reduce(function (a, v) { return a + v; }, 0)); });
    high = nice(high * 1.05);
    var left = gutter(labels), n = labels.length, height = TOP + n * ROW + AXIS + 22;
    var root = svg(box, height), x = frame(root, left, n, 0, high, L.tail_days, height);
    var y = function (i) { return TOP + i * ROW + ROW / 2; };
    rowLabels(root, labels, left, y);
    var used = [];
    bars.forEach(function (b, i) {
      var at = 0;
      b[1].forEach(function (v, k) {
        if (!(v > 0)) return;
        used[k] = true;
        el("title", {}, el("rect", {x: x(at), y: y(i) - 7, width: Math.max(0.8, x(at + v) - x(at)), height: 14, fill: KIND[k]}, root), L.kinds[k] + " " + v);
        at += v;
      });
    });
    legendRows(root, L.kinds.map(function (k, i) { return {label: k, colour: KIND[i]}; }).filter(function (item, i) { return used[i]; }), height - 4, box, height);
  }
  function alone(box, p) {
    var c = p.contributions;
    if (!c || !c.alone.length) return empty(box);
    var unit = c.metric === "share_within_target" ? " pp" : "";
    dots(box, c.alone.map(function (r) { return r[0]; }), c.alone.map(function (r) { return [r[1], r[2], r[3]]; }),
         L["change_" + c.metric], {signed: true, line: 0, unit: unit});
  }
  function waterfall(box, p) {
    var c = p.contributions;
    if (!c || !c.steps.length || c.base === null) return empty(box);
    var labels = [L.baseline].concat(c.steps.map(function (s) { return s[0]; }));
    var level = c.base, points = [[0, level]], low = Math.min(0, level), high = level;
    c.steps.forEach(function (s) { var next = level + (s[1] || 0); points.push([level, next]); level = next; low = Math.min(low, next); high = Math.max(high, next); });
    high = nice(high * 1.05);
    var left = gutter(labels), n = labels.length, height = TOP + n * ROW + AXIS + 4;
    var root = svg(box, height), x = frame(root, left, n, low < 0 ? -nice(-low) : 0, high, L["level_" + c.metric], height);
    var y = function (i) { return TOP + i * ROW + ROW / 2; };
    rowLabels(root, labels, left, y);
    points.forEach(function (pt, i) {
      var a = Math.min(pt[0], pt[1]), b = Math.max(pt[0], pt[1]);
      var colour = i === 0 ? "#8fb3de" : ((pt[1] >= pt[0]) === (c.metric === "share_within_target") ? "#4c9a5d" : "#d1495b");
      el("rect", {x: x(a), y: y(i) - 7, width: Math.max(0.8, x(b) - x(a)), height: 14, fill: colour}, root);
      el("text", {x: x(b) + 5, y: y(i) + 4, "font-size": 10}, root, i === 0 ? String(pt[1]) : (pt[1] - pt[0] >= 0 ? "+" : "") + (Math.round((pt[1] - pt[0]) * 100) / 100));
    });
  }
  function agencies(box, kind) {
    var a = DATA.agencies;
    if (!a || !a.agencies) return empty(box);
    var labels = [], values = [], colours = [];
    a.agencies.forEach(function (name, i) {
      a.variants.forEach(function (v, j) {
        labels.push(j === 0 ? name : "· " + v);
        values.push(a[kind][i][j]);
        colours.push(VARIANT[j % VARIANT.length]);
      });
    });
    if (a.variants.length > 1) labels = labels.map(function (t, k) { return k % a.variants.length === 0 ? t + " · " + a.variants[0] : t; });
    dots(box, labels, values, kind === "utilisation" ? L.utilisation : L.queue_days,
         {colours: colours, line: kind === "utilisation" ? 100 : undefined, unit: kind === "utilisation" ? "%" : ""});
  }
  /* A sweep: the share within target (with its interval) against a setting's values. */
  function sweep(box, p) {
    var xs = p.x, low = Math.min.apply(null, xs), high = Math.max.apply(null, xs);
    if (!xs.length) return empty(box);
    if (high === low) { low -= 1; high += 1; }
    var pad = (high - low) * 0.05, left = 48, height = 200 + 16 * Math.ceil(p.series.length / 3), bottom = height - AXIS - 20 - 16 * Math.ceil(p.series.length / 3);
    var root = svg(box, height);
    var x = function (v) { return left + (v - low + pad) / (high - low + 2 * pad) * (W - left - RIGHT); };
    var y = function (v) { return bottom - v / 100 * (bottom - TOP); };
    var grid = el("g", {"class": "grid"}, root), axis = el("g", {"class": "axis"}, root);
    [0, 20, 40, 60, 80, 100].forEach(function (t) {
      el("line", {x1: left, x2: W - RIGHT, y1: y(t), y2: y(t)}, grid);
      el("text", {x: left - 6, y: y(t) + 4, "text-anchor": "end"}, axis, t + "%");
    });
    xs.forEach(function (v) { el("text", {x: x(v), y: bottom + 14, "text-anchor": "middle"}, axis, String(v)); });
    el("text", {x: (left + W - RIGHT) / 2, y: bottom + 30, "text-anchor": "middle"}, axis, p.xlabel);
    p.series.forEach(function (s, k) {
      var c = VARIANT[k % VARIANT.length], path = "";
      s.values.forEach(function (v, i) {
        if (!v || v[0] === null) return;
        if (v[1] !== null && v[2] !== null) el("line", {x1: x(xs[i]), x2: x(xs[i]), y1: y(v[1]), y2: y(v[2]), stroke: c, "stroke-opacity": 0.6}, root);
        path += (path ? "L" : "M") + x(xs[i]).toFixed(1) + "," + y(v[0]).toFixed(1);
        el("title", {}, el("circle", {cx: x(xs[i]), cy: y(v[0]), r: 3.5, fill: c}, root), s.label + ": " + v[0] + "% [" + v[1] + "–" + v[2] + "%]");
      });
      if (path) el("path", {d: path, fill: "none", stroke: c, "stroke-width": 1.5}, root);
    });
    legendRows(root, p.series.map(function (s, k) { return {label: s.label, colour: VARIANT[k % VARIANT.length]}; }), bottom + 48, box, height);
  }
  var DRAW = {cycle: cycle, share: share, gantt: gantt, tail: tail, alone: alone, waterfall: waterfall, sweep: sweep};
  function draw(box) {
    if (box.firstChild) return;
    var kind = box.getAttribute("data-chart");
    if (kind === "utilisation" || kind === "queue") return agencies(box, kind);
    var p = DATA.procedures[box.getAttribute("data-procedure")];
    if (p) DRAW[kind](box, p, box.getAttribute("data-variant"));
  }
  function drawIn(root) { Array.prototype.forEach.call(root.querySelectorAll(".chart"), draw); }
  /* Charts outside collapsed sections are drawn at once; a section's when it is first
     opened (and all of them for printing). */
  Array.prototype.forEach.call(document.querySelectorAll(".chart"), function (box) {
    if (!box.closest("details")) draw(box);
  });
  Array.prototype.forEach.call(document.querySelectorAll("details.procedure"), function (d) {
    d.addEventListener("toggle", function () { if (d.open) drawIn(d); });
    if (d.open) drawIn(d);
  });
  Array.prototype.forEach.call(document.querySelectorAll("select[data-procedure]"), function (s) {
    s.addEventListener("change", function () {
      var section = document.getElementById("p-" + s.getAttribute("data-procedure"));
      Array.prototype.forEach.call(section.querySelectorAll("[data-variant]"), function (node) {
        if (node.classList.contains("chart")) return;
        var v = node.getAttribute("data-variant");
        node.hidden = !(v === "baseline" || v === s.value);
      });
    });
  });
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1)), target = id && document.getElementById(id);
    if (target && target.tagName === "DETAILS") { target.open = true; }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
  var toggle = document.querySelector("button.toggle-all");
  if (toggle) toggle.addEventListener("click", function () {
    var all = document.querySelectorAll("details.procedure"), open = toggle.getAttribute("data-open") !== "1";
    Array.prototype.forEach.call(all, function (d) { d.open = open; });
    toggle.setAttribute("data-open", open ? "1" : "0");
    toggle.textContent = toggle.getAttribute(open ? "data-label-close" : "data-label-open");
  });
  var closed = [];
  window.addEventListener("beforeprint", function () {
    closed = Array.prototype.filter.call(document.querySelectorAll("details"), function (d) { return !d.open; });
    closed.forEach(function (d) { d.open = true; drawIn(d); });
  });
  window.addEventListener("afterprint", function () { closed.forEach(function (d) { d.open = false; }); closed = []; });
  window.approvalsimCharts = {drawAll: function () { drawIn(document); }};
})();
