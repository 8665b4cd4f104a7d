/* perfkit dashboard: draws the charts (uPlot) from the JSON in #perfkit-data and runs the filter.
   Every string from the data goes into the page through textContent, never innerHTML. */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("perfkit-data").textContent);
  var runs = data.runs || {};
  var plots = [];
  // What each chart drew, by chart id: read by the browser test and handy in a console.
  var drawn = {};
  window.perfkitCharts = drawn;

  var COLORS = {
    trend: ["#2563eb", "rgba(37,99,235,0.35)", "rgba(37,99,235,0.35)"],
    memory: ["#7c3aed", "rgba(124,58,237,0.35)", "rgba(124,58,237,0.35)"],
    latency: ["#0f766e", "#ea580c", "#b91c1c", "#64748b"],
  };
  var BAND = { trend: "rgba(37,99,235,0.12)", memory: "rgba(124,58,237,0.12)" };
  var MARK = { regression: "#c2410c", improvement: "#15803d", baseline: "#0891b2" };

  function three(v) {
    var a = Math.abs(v);
    if (a >= 100 || a === 0) return v.toFixed(0);
    if (a >= 10) return v.toFixed(1);
    return v.toFixed(2);
  }

  // The same units as the Python side (_units.format_value): three significant figures.
  function fmt(v, unit) {
    if (v === null || v === undefined || !isFinite(v)) return "—";
    var a = Math.abs(v);
    if (unit === "second") {
      if (a < 1e-6) return three(v * 1e9) + " ns";
      if (a < 1e-3) return three(v * 1e6) + " µs";
      if (a < 1) return three(v * 1e3) + " ms";
      return three(v) + " s";
    }
    if (unit === "byte") {
      if (a >= 1073741824) return three(v / 1073741824) + " GB";
      if (a >= 1048576) return three(v / 1048576) + " MB";
      if (a >= 1024) return three(v / 1024) + " KB";
      return v.toFixed(0) + " B";
    }
    if (a >= 1e9) return three(v / 1e9) + "G";
    if (a >= 1e6) return three(v / 1e6) + "M";
    if (a >= 1e4) return three(v / 1e3) + "k";
    return Number.isInteger(v) ? String(v) : three(v);
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function runText(id) {
    var run = runs[String(id)];
    if (!run) return { date: "", commit: "run " + id, branch: "" };
    return { date: run[0].slice(0, 16).replace("T", " "), commit: run[1] || "run " + id, branch: run[2] };
  }

  function tooltip(chart) {
    var tip;
    return {
      hooks: {
        init: function (u) {
          tip = el("div", "pk-tip");
          tip.hidden = true;
          u.over.appendChild(tip);
          u.over.addEventListener("mouseleave", function () { tip.hidden = true; });
        },
        setCursor: function (u) {
          var i = u.cursor.idx;
          if (i === null || i === undefined || u.cursor.left < 0) { tip.hidden = true; return; }
          var span = chart.runs[i] || [0, 0, 0];
          var first = runText(span[0]);
          var last = runText(span[1]);
          tip.textContent = "";
          var when = span[2] > 1
            ? first.date.slice(0, 10) + " · " + span[2] + " runs"
            : first.date + " UTC";
          tip.appendChild(el("div", "pk-date", when));
          var commit = span[2] > 1 && last.commit !== first.commit
            ? first.commit + " … " + last.commit
            : first.commit;
          tip.appendChild(el("div", "pk-commit", commit + (first.branch ? " (" + first.branch + ")" : "")));
          for (var s = 1; s < u.series.length; s++) {
            var v = u.data[s][i];
            if (v === null || v === undefined) continue;
            var row = el("div", "pk-value");
            row.appendChild(el("span", "", u.series[s].label + ": "));
            row.appendChild(el("b", "", fmt(v, chart.unit)));
            tip.appendChild(row);
          }
          tip.hidden = false;
          var left = u.cursor.left + 14;
          if (left + tip.offsetWidth > u.over.clientWidth) left = u.cursor.left - tip.offsetWidth - 14;
          tip.style.left = Math.max(0, left) + "px";
          tip.style.top = Math.max(0, u.cursor.top - tip.offsetHeight - 10) + "px";
        },
      },
    };
  }

  // Change points and baselines: a vertical line at the first point after the step, labelled.
  function marks(chart) {
    return {
      hooks: {
        draw: function (u) {
          var ctx = u.ctx;
          var box = u.bbox;
          var px = u.pxRatio || 1;
          ctx.save();
          ctx.font = (11 * px) + "px system-ui, sans-serif";
          chart.marks.forEach(function (m, n) {
            var x = Math.round(u.valToPos(m.x, "x", true));
            if (x < box.left - 1 || x > box.left + box.width + 1) return;
            var color = MARK[m.kind] || "#64748b";
            ctx.strokeStyle = color;
            ctx.fillStyle = color;
            ctx.lineWidth = 1.5 * px;
            ctx.setLineDash(m.kind === "baseline" ? [5 * px, 4 * px] : []);
            ctx.beginPath();
            ctx.moveTo(x, box.top);
            ctx.lineTo(x, box.top + box.height);
            ctx.stroke();
            var label = m.kind === "baseline" ? "⚑ " + m.label : m.label;
            var w = ctx.measureText(label).width;
            var lx = x + 4 * px + w > box.left + box.width ? x - 4 * px - w : x + 4 * px;
            ctx.fillText(label, lx, box.top + (12 + 13 * (n % 3)) * px);
          });
          ctx.restore();
        },
      },
    };
  }

  function options(chart, width) {
    var kind = chart.kind;
    var colors = COLORS[kind] || COLORS.trend;
    var few = chart.x.length <= 40;
    var series = [{ label: "time", value: function (u, v) { return v === null ? "" : new Date(v * 1000).toISOString().slice(0, 16).replace("T", " "); } }];
    chart.series.forEach(function (s, n) {
      var spread = kind !== "latency" && n > 0;
      series.push({
        label: s.label,
        stroke: colors[n % colors.length],
        width: spread ? 1 : 2,
        dash: spread ? [3, 3] : undefined,
        spanGaps: true,
        points: { show: few && !spread, size: 5 },
        value: function (u, v) { return fmt(v, chart.unit); },
      });
    });
    var opts = {
      width: width,
      height: 200,
      scales: { x: { time: true } },
      series: series,
      axes: [
        { stroke: "#687385", grid: { stroke: "#eef1f5" }, ticks: { stroke: "#e3e7ee" } },
        {
          stroke: "#687385",
          size: 64,
          grid: { stroke: "#eef1f5" },
          ticks: { stroke: "#e3e7ee" },
          values: function (u, vals) { return vals.map(function (v) { return fmt(v, chart.unit); }); },
        },
      ],
      legend: { live: false },
      cursor: { drag: { x: true, y: false }, points: { size: 7 } },
      plugins: [tooltip(chart), marks(chart)],
    };
    if (kind !== "latency" && chart.series.length === 3) {
      // p95 (series 3) above p5 (series 2): the spread of each run's values.
      opts.bands = [{ series: [3, 2], fill: BAND[kind] || BAND.trend }];
    }
    return opts;
  }

  function draw(node) {
    var chart = byId[node.getAttribute("data-chart")];
    if (!chart) return;
    var width = Math.max(280, node.clientWidth || 560);
    var columns = [chart.x].concat(chart.series.map(function (s) { return s.values; }));
    var u = new uPlot(options(chart, width), columns, node);
    plots.push({ plot: u, node: node });
    node.setAttribute("data-drawn", String(u.data[0].length));
    drawn[chart.id] = { points: u.data[0].length, series: u.series.length - 1, marks: chart.marks.length };
  }

  var byId = {};
  data.charts.forEach(function (c) { byId[c.id] = c; });
  document.querySelectorAll(".chart[data-chart]").forEach(draw);

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      plots.forEach(function (p) {
        var width = Math.max(280, p.node.clientWidth);
        if (width !== p.plot.width) p.plot.setSize({ width: width, height: 200 });
      });
    }, 100);
  });

  // The filter: every whitespace-separated word must appear in the card's name, suite or target.
  var input = document.getElementById("filter");
  var count = document.getElementById("filter-count");
  var cards = Array.prototype.slice.call(document.querySelectorAll(".card.bench"));
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-name]"));
  var suites = Array.prototype.slice.call(document.querySelectorAll("section.suite"));
  function matches(node, words) {
    var name = node.getAttribute("data-name") || "";
    return words.every(function (w) { return name.indexOf(w) !== -1; });
  }
  function apply() {
    var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    cards.forEach(function (c) { var ok = matches(c, words); c.hidden = !ok; if (ok) shown++; });
    rows.forEach(function (r) { r.hidden = !matches(r, words); });
    suites.forEach(function (s) { s.hidden = !s.querySelector(".card.bench:not([hidden])"); });
    count.textContent = words.length ? shown + " of " + cards.length : "";
    document.getElementById("no-match").hidden = !(words.length && cards.length && !shown);
    plots.forEach(function (p) {
      if (!p.node.closest("[hidden]") && p.node.clientWidth && p.node.clientWidth !== p.plot.width) {
        p.plot.setSize({ width: p.node.clientWidth, height: 200 });
      }
    });
  }
  input.addEventListener("input", apply);
  document.body.setAttribute("data-ready", "1");
})();
