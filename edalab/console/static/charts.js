/* EDA Lab console: draws metric charts with the vendored uPlot (global `uPlot`).
 *
 * Why this exists: the alarm and dashboard pages render server-side and poll with htmx; each
 * chart's data comes embedded in the page as JSON (`<script type="application/json"
 * class="chart-data">` inside a `<div class="chart" id="...">`, shape in metric_charts.py).
 * When a polled fragment replaces the old one, the new container is drawn here and the old
 * chart destroyed (uPlot keeps window listeners until destroy()). Nothing is fetched.
 */
(function () {
  "use strict";
  var PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf"];
  var drawn = {};  // container id -> uPlot instance

  function fade(color) {
    var hex = color.replace("#", "");
    if (hex.length !== 6) return color;
    var n = parseInt(hex, 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + ",0.25)";
  }

  function utc(seconds) { return uPlot.tzDate(new Date(seconds * 1000), "Etc/UTC"); }

  function withEdges(doc) {
    // The x values, plus the window's start and end so the time axis spans the whole window and
    // horizontal lines (threshold, annotations) run from edge to edge even without data.
    var xs = doc.x.slice(), index = {};
    if (!xs.length || xs[0] > doc.start) xs.unshift(doc.start);
    if (xs[xs.length - 1] < doc.end) xs.push(doc.end);
    xs.forEach(function (x, i) { index[x] = i; });
    var columns = doc.series.map(function (s) {
      var values = xs.map(function () { return null; });
      doc.x.forEach(function (x, i) { values[index[x]] = s.values[i]; });
      return values;
    });
    return { xs: xs, columns: columns };
  }

  function stack(columns) {
    var sums = columns.length ? columns[0].map(function () { return 0; }) : [];
    return columns.map(function (values) {
      return values.map(function (v, i) { if (v == null) return null; sums[i] += v; return sums[i]; });
    });
  }

  function yRange(doc, side) {
    var axis = (doc.axes || {})[side] || {};
    return function (u, min, max) {
      (doc.lines || []).forEach(function (line) {
        if ((line.axis || "left") !== side) return;
        min = (min == null || line.value < min) ? line.value : min;
        max = (max == null || line.value > max) ? line.value : max;
      });
      if (min == null || max == null) { min = 0; max = 1; }
      var span = max - min;
      if (min >= 0) min = 0; else min -= (span || Math.abs(min)) * 0.1;
      max = max <= min ? min + 1 : max + (max - min) * 0.1;
      if (axis.min != null) min = axis.min;
      if (axis.max != null) max = axis.max;
      return [min, max];
    };
  }

  function options(doc, width, height) {
    var right = doc.series.some(function (s) { return s.axis === "right"; }) ||
                (doc.lines || []).some(function (l) { return l.axis === "right"; });
    var series = [{}];
    doc.series.forEach(function (s, i) {
      var color = s.color || PALETTE[i % PALETTE.length];
      series.push({ label: s.label, stroke: color, width: 1.5, scale: s.axis === "right" ? "y2" : "y",
                    fill: doc.stacked ? fade(color) : undefined, spanGaps: false,
                    points: { show: s.points < 60, size: 4 } });
    });
    (doc.lines || []).forEach(function (line) {
      series.push({ label: line.label, stroke: line.color || "#c62828", width: 1.5, dash: [6, 4],
                    scale: line.axis === "right" ? "y2" : "y", points: { show: false }, spanGaps: true });
    });
    var axes = [{}, { scale: "y", label: ((doc.axes || {}).left || {}).label, size: 56 }];
    var scales = { x: { time: true, range: function () { return [doc.start, doc.end]; } },
                   y: { range: yRange(doc, "left") } };
    if (right) {
      axes.push({ scale: "y2", side: 1, grid: { show: false }, label: ((doc.axes || {}).right || {}).label, size: 56 });
      scales.y2 = { range: yRange(doc, "right") };
    }
    var opts = { width: width, height: height, series: series, axes: axes, scales: scales, tzDate: utc,
                 legend: { show: true }, cursor: { drag: { x: false, y: false } } };
    if (doc.stacked && doc.series.length > 1) {
      opts.bands = doc.series.slice(1).map(function (s, i) { return { series: [i + 2, i + 1] }; });
    }
    return opts;
  }

  function data(doc) {
    var edged = withEdges(doc);
    var columns = doc.stacked ? stack(edged.columns) : edged.columns;
    var lines = (doc.lines || []).map(function (line) { return edged.xs.map(function () { return line.value; }); });
    return [edged.xs].concat(columns, lines);
  }

  function size(container) {
    var width = Math.max(200, container.clientWidth);
    var fixed = Number(container.getAttribute("data-height"));
    var height = fixed || Math.max(80, container.clientHeight - 36);
    return { width: width, height: height };
  }

  function draw(container) {
    var script = container.querySelector("script.chart-data");
    if (!script || container.getAttribute("data-drawn") === "yes") return;
    var doc = JSON.parse(script.textContent);
    var old = drawn[container.id];
    if (old) { old.destroy(); delete drawn[container.id]; }
    var box = size(container);
    var chart = new uPlot(options(doc, box.width, box.height), data(doc), container);
    requestAnimationFrame(function () { fit(chart, container); });  // once the legend is laid out
    container.setAttribute("data-drawn", "yes");
    if (container.id) drawn[container.id] = chart;
  }

  // A widget's box has a set height; `size` leaves one legend row for the legend, but a legend of
  // long series names wraps to more rows. Give the plot what the title and legend leave over, so
  // the legend's last row is not cut off by the box. (Charts of a fixed data-height grow instead.)
  function fit(chart, container) {
    if (Number(container.getAttribute("data-height"))) return;
    var around = chart.root.offsetHeight - chart.height;  // title and legend, as drawn
    var height = Math.max(60, container.clientHeight - around);
    if (Math.abs(height - chart.height) > 1) chart.setSize({ width: chart.width, height: height });
  }

  function sweep() {
    Object.keys(drawn).forEach(function (id) {
      if (!document.body.contains(drawn[id].root)) { drawn[id].destroy(); delete drawn[id]; }
    });
  }

  function drawAll(root) {
    sweep();
    (root || document).querySelectorAll(".chart").forEach(draw);
    if (root && root.classList && root.classList.contains("chart")) draw(root);
  }

  window.edalabCharts = { drawAll: drawAll, instances: drawn };
  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSwap", function () { drawAll(document); });
  if (window.htmx) htmx.onLoad(function (elt) { drawAll(elt); });
  var resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () {
      Object.keys(drawn).forEach(function (id) {
        var container = document.getElementById(id);
        if (container) { drawn[id].setSize(size(container)); fit(drawn[id], container); }
      });
    }, 150);
  });
})();
