// The CPU and differential flame graph pages (perfkit_profile._flamegraph): reads the JSON in
// #flame-data and draws it with d3-flame-graph (vendored, inlined before this script).
// Every string from the data (frame names, targets, commits) reaches the page as text only
// (textContent, d3's .text()), never as HTML.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("flame-data").textContent);
  var diff = data.kind === "diff";

  function text(id, value) {
    document.getElementById(id).textContent = value;
  }
  function add(parent, tag, value, cls) {
    var element = document.createElement(tag);
    if (value !== undefined) element.textContent = value;
    if (cls) element.className = cls;
    parent.appendChild(element);
    return element;
  }
  function pct(value, signed) {
    var s = value.toFixed(2);
    return (signed && value > 0 ? "+" : "") + s + " %";
  }
  function selfOf(d) {
    return diff ? d.data.s : d.data.v - (d.data.c || []).reduce(function (n, c) { return n + c.v; }, 0);
  }

  text("title", data.title);
  var meta = document.getElementById("meta");
  data.meta.forEach(function (line) { add(meta, "div", line); });

  var total = data.tree.v || 1;
  function cpuLabel(d) {
    return d.data.n + "\n" + d.data.v + " samples (" + pct(100 * d.data.v / total) + "), self " +
      selfOf(d) + " (" + pct(100 * selfOf(d) / total) + ")";
  }
  function diffLabel(d) {
    var x = d.data;
    return x.n + "\nB: self " + x.s + ", total " + x.v + " samples\nA: self " + x.as + ", total " +
      x.a + " samples\nchange of self time: " + pct(100 * x.d, true) + ", of total time: " +
      pct(100 * x.dt, true) + " of A's time " + data.unit;
  }

  // Warmer for growth, cooler for a drop; the deepest colour is the largest change on the page.
  var maxDelta = 0;
  (function scan(node) {
    if (diff) maxDelta = Math.max(maxDelta, Math.abs(node.d));
    (node.c || []).forEach(scan);
  })(data.tree);
  function diffColor(d) {
    if (d.highlight) return "#e600e6";
    var delta = d.data.d;
    if (!maxDelta || !delta) return "rgb(225,225,225)";
    var k = Math.min(1, Math.abs(delta) / maxDelta);
    var fade = Math.round(225 * (1 - k));
    return delta > 0 ? "rgb(255," + fade + "," + fade + ")" : "rgb(" + fade + "," + fade + ",255)";
  }

  var box = document.getElementById("chart");
  var chart = flamegraph.default()
    .width(Math.max(640, box.clientWidth || 960))
    .cellHeight(18)
    .transitionDuration(250)
    .sort(true)
    .setDetailsElement(document.getElementById("details"))
    .setLabelHandler(diff ? diffLabel : cpuLabel)
    // A plain substring match: the vendored default compiles the box's text as a RegExp.
    .setSearchMatch(function (d, term) {
      return Boolean(term) && String(d.data.n).indexOf(term) !== -1;
    });
  if (diff) chart.setColorMapper(diffColor);
  window.d3.select("#chart").datum(data.tree).call(chart);

  var search = document.getElementById("search");
  search.addEventListener("input", function () {
    if (search.value) chart.search(search.value); else chart.clear();
  });
  document.getElementById("reset").addEventListener("click", function () { chart.resetZoom(); });

  function table(caption, rows, columns) {
    if (!rows.length) return;
    var t = add(document.getElementById("top"), "table");
    add(t, "caption", caption);
    var head = add(t, "tr");
    columns.forEach(function (c) { add(head, "th", c[0], c[2] ? "num" : ""); });
    rows.forEach(function (row) {
      var tr = add(t, "tr");
      columns.forEach(function (c) { add(tr, "td", c[1](row), c[2] ? "num" : ""); });
    });
  }
  function where(row) { return row.file + (row.line != null ? ":" + row.line : ""); }
  if (diff) {
    var growth = [
      ["function", function (r) { return r.function; }],
      ["file", where],
      ["A self samples", function (r) { return String(r.before_samples); }, true],
      ["B self samples", function (r) { return String(r.after_samples); }, true],
      ["A", function (r) { return pct(r.before_percent); }, true],
      ["B", function (r) { return pct(r.after_percent); }, true],
      ["change", function (r) { return pct(r.change_percent, true); }, true]
    ];
    table("Functions whose self time grew most (% of A's time " + data.unit + ")", data.growing, growth);
    table("Functions whose self time dropped most", data.shrinking, growth);
  } else {
    var columns = [
      ["function", function (r) { return r.function; }],
      ["file", function (r) { return r.where; }],
      ["self", function (r) { return pct(r.self_percent); }, true],
      ["total", function (r) { return pct(r.total_percent); }, true]
    ];
    table("Functions by self time", data.top_self, columns);
  }
})();
