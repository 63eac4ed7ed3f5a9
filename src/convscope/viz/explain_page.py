"""The explainer page's styles and script: plain JavaScript, no library, no network.

The script reads the JSON that `viz.explain` embeds (`#explain-data`: the layers, their
parameters and outputs as float32 base64 blobs), draws the network as columns of feature
maps and, when a unit is clicked, recomputes the unit's value from its inputs in float64:

    conv       y[c,y,x] = sum_ci sum_ky,kx x[ci, y*S - P + ky*D, x*S - P + kx*D] w[c,ci,ky,kx] + b[c]
    maxpool    the largest value of the window (padding never wins)
    avgpool    the window's sum / its size (PyTorch's count_include_pad rule)
    batchnorm  (x - mean) / sqrt(var + eps) * gamma + beta      (running statistics)
    relu       max(0, x)  (leaky_relu, sigmoid, tanh alike); dropout: x (evaluation mode)
    linear     sum_i W[k,i] x_i + b[k]

and the unit's gradient with respect to the input, by the chain rule through the layers
(the effective receptive field of `viz.rf` for one image). What the panel `#unit-detail`
shows is `explain_panel`'s part of the script. `window.convscopeExplain` exposes `select`,
`unitValue`, `gradient`, `fieldBox` and `windowTaps` for the tests and the curious.
"""

from __future__ import annotations

from .explain_panel import PANEL_SCRIPT

__all__ = ["SCRIPT", "STYLE"]

STYLE = """
body{font-family:"DejaVu Sans",Verdana,sans-serif;margin:0;color:#222;background:#fff}
header{background:#08306b;color:#fff;padding:12px 24px}
header h1{margin:0;font-size:21px} header p{margin:4px 0 0;font-size:14px}
main{padding:6px 18px 40px}
.help{font-size:14px;color:#444;margin:6px 0}
#network{display:flex;gap:10px;overflow-x:auto;padding:6px 2px 10px;align-items:flex-start;
border-bottom:2px solid #9ecae1}
.col{flex:none;border:1px solid #d0d7de;border-radius:4px;padding:4px;background:#fafbfc}
.col h3{margin:0;font-size:12px;white-space:nowrap}
.col .kind{font-size:11px;color:#555;max-width:150px;overflow-wrap:anywhere}
.col .shape{font-size:11px;color:#08519c}
.pager{font-size:11px;margin:3px 0;white-space:nowrap} .pager button{font-size:11px;padding:0 4px}
.page-note{font-size:10px;color:#8a4b00}
.map{display:grid;position:relative;margin:3px 0;border:1px solid #bbb;width:max-content}
.map .u{cursor:pointer} .map .u.sel{outline:2px solid #00e5ff;outline-offset:-1px;z-index:2}
.cap{font-size:10px;color:#555}
.rf-box{position:absolute;border:2px solid #e41a1c;pointer-events:none;box-sizing:border-box;
z-index:1}
.feat{display:flex;align-items:center;font-size:11px;cursor:pointer;margin:1px 0;
white-space:nowrap}
.feat .sw{width:14px;height:14px;border:1px solid #999;margin-right:4px;flex:none}
.feat.sel{outline:2px solid #00e5ff} .feat .bar{height:8px;background:#6baed6;margin-left:4px}
.feat.pred{font-weight:bold}
#unit-detail{padding:6px 0} #unit-detail h2{font-size:18px;margin:8px 0}
.grid{border-collapse:collapse;font-size:11px;font-family:monospace;margin:2px}
.grid td{border:1px solid #ccc;padding:1px 3px;text-align:right;min-width:34px}
.grid td.pad{background:#e6c9ef;color:#777} .grid td.win{background:#fee391;font-weight:bold}
.steps{border-collapse:collapse;font-size:12px} .steps>tbody>tr>td,.steps>thead>tr>th{
border:1px solid #ddd;padding:2px 5px;vertical-align:middle} .steps th{background:#eef3f8}
.formula{font-family:monospace;font-size:14px;background:#f3f6f9;padding:6px 8px;
display:inline-block;margin:4px 0}
.value{font-size:16px} .ok{color:#1b7837} .bad{color:#b00}
.row{display:flex;flex-wrap:wrap;gap:22px;align-items:flex-start}
canvas{border:1px solid #ddd;image-rendering:pixelated}
.note{font-size:12px;color:#555;max-width:640px}
"""

_START = r"""
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("explain-data").textContent);
  var M = D.meta, LAYERS = M.layers, cache = {}, byName = {}, pages = {}, selected = null;
  LAYERS.forEach(function (l, i) { l.index = i; byName[l.name] = l; });

  function blob(key) {
    if (!(key in cache)) {
      var s = atob(D.blobs[key]), u = new Uint8Array(s.length);
      for (var i = 0; i < s.length; i++) { u[i] = s.charCodeAt(i); }
      cache[key] = new Float32Array(u.buffer);
    }
    return cache[key];
  }
  function out(l) { return blob(l.name + "/output"); }
  function inp(l) {
    return l.input === "input" ? blob("input") :
      (l.input in byName ? out(byName[l.input]) : blob(l.input));
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function fmt(v) {
    if (!isFinite(v)) { return String(v); }
    var a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e4) ? v.toExponential(2) : v.toFixed(3);
  }
  function full(v) { return Number(v).toPrecision(7); }
  function colour(v, scale) {  // blue (negative) - white - red (positive)
    var t = Math.max(-1, Math.min(1, v / (scale || 1)));
    var r, g, b;
    if (t >= 0) { r = 255 - t * (255 - 178); g = 255 - t * (255 - 24); b = 255 - t * (255 - 43); }
    else { t = -t; r = 255 - t * (255 - 33); g = 255 - t * (255 - 102); b = 255 - t * (255 - 172); }
    return "rgb(" + (r | 0) + "," + (g | 0) + "," + (b | 0) + ")";
  }
  function grey(v, lo, hi) {
    var t = hi > lo ? (v - lo) / (hi - lo) : 0.5, c = Math.round(255 * t);
    return "rgb(" + c + "," + c + "," + c + ")";
  }
  function absmax(a) { var m = 0; for (var i = 0; i < a.length; i++) { m = Math.max(m, Math.abs(a[i])); } return m; }

  // -- the network as columns ---------------------------------------------------------------
  var columns = [{name: "input", shape: M.input_shape, maps: true, isInput: true}];
  LAYERS.forEach(function (l) {
    if (l.kind !== "flatten") { columns.push(l); }
  });
  function cellSize(H, W, big) {  // pixels per unit: a map about 84 px wide (the input 140)
    return Math.max(3, Math.min(24, Math.floor((big ? 140 : 84) / Math.max(H, W))));
  }
  function perPage(col) {
    var H = col.shape[1], W = col.shape[2];
    return Math.max(1, Math.min(M.page_channels, Math.floor(M.page_channels * 784 / (H * W))));
  }

  function renderColumn(col) {
    var box = el("div", "col");
    box.id = "col-" + col.name;
    box.dataset.column = col.name;
    box.appendChild(el("h3", null, col.isInput ? "input" : "layer " + col.name));
    var kind = el("div", "kind", col.isInput ? M.what || "the image" : col.label);
    kind.title = col.isInput ? M.normalisation : col.repr;
    box.appendChild(kind);
    box.appendChild(el("div", "shape", col.shape.join("\u00d7")));
    if (col.maps) { renderMaps(col, box); } else { renderFeatures(col, box); }
    return box;
  }

  function pager(col, box, count, per, noun) {
    var page = pages[col.name] || 0, last = Math.ceil(count / per) - 1;
    if (last <= 0) { return page; }
    var p = el("div", "pager"), prev = el("button", null, "\u25c0"), next = el("button", null, "\u25b6");
    prev.className = "prev"; next.className = "next";
    prev.onclick = function () { pages[col.name] = (page + last) % (last + 1); redraw(col); };
    next.onclick = function () { pages[col.name] = (page + 1) % (last + 1); redraw(col); };
    var lo = page * per + 1, hi = Math.min(count, (page + 1) * per);
    var label = el("span", "where", " " + noun + " " + lo + "\u2013" + hi + " of " + count + " ");
    p.appendChild(prev); p.appendChild(label); p.appendChild(next);
    box.appendChild(p);
    box.appendChild(el("div", "page-note", "paged: " + per + " of " + count + " " + noun +
                       " shown at a time"));
    return page;
  }

  function renderMaps(col, box) {
    var C = col.shape[0], H = col.shape[1], W = col.shape[2];
    var values = col.isInput ? blob("input") : out(col), cs = cellSize(H, W, col.isInput);
    var per = perPage(col), page = pager(col, box, C, per, "channels");
    var lo = Infinity, hi = -Infinity, scale = absmax(values);
    if (col.isInput) { for (var i = 0; i < values.length; i++) { lo = Math.min(lo, values[i]); hi = Math.max(hi, values[i]); } }
    if (col.isInput && C === 3) { box.appendChild(colourPicture(values, H, W, lo, hi)); }
    for (var c = page * per; c < Math.min(C, (page + 1) * per); c++) {
      box.appendChild(el("div", "cap", "channel " + c));
      var map = el("div", "map");
      map.dataset.layer = col.name; map.dataset.channel = c;
      map.style.gridTemplateColumns = "repeat(" + W + "," + cs + "px)";
      var frag = document.createDocumentFragment();
      for (var y = 0; y < H; y++) {
        for (var x = 0; x < W; x++) {
          var u = document.createElement("div"), v = values[(c * H + y) * W + x];
          u.className = "u";
          u.style.width = u.style.height = cs + "px";
          u.style.background = col.isInput ? grey(v, lo, hi) : colour(v, scale);
          u.dataset.layer = col.name; u.dataset.unit = c + "," + y + "," + x;
          u.title = col.name + " [" + c + "," + y + "," + x + "] = " + fmt(v);
          frag.appendChild(u);
        }
      }
      map.appendChild(frag);
      box.appendChild(map);
    }
  }

  function colourPicture(values, H, W, lo, hi) {  // the three channels as one RGB picture
    var cv = el("canvas"), cs = cellSize(H, W, true), g = cv.getContext("2d");
    cv.width = W * cs; cv.height = H * cs; cv.className = "rgb"; cv.title = "the image in colour";
    for (var y = 0; y < H; y++) {
      for (var x = 0; x < W; x++) {
        var rgb = [0, 1, 2].map(function (c) { return Math.round(255 * (values[(c * H + y) * W + x] - lo) / ((hi - lo) || 1)); });
        g.fillStyle = "rgb(" + rgb.join(",") + ")";
        g.fillRect(x * cs, y * cs, cs, cs);
      }
    }
    return cv;
  }

  function renderFeatures(col, box) {
    var values = out(col), n = values.length, last = col.index === LAYERS.length - 1;
    var per = M.page_features, page = pager(col, box, n, per, "units"), scale = absmax(values);
    if (last && M.probs) { box.appendChild(el("div", "cap", "class scores: softmax")); }
    for (var k = page * per; k < Math.min(n, (page + 1) * per); k++) {
      var f = el("div", "feat"), sw = el("span", "sw");
      sw.style.background = colour(values[k], scale);
      f.appendChild(sw);
      f.dataset.layer = col.name; f.dataset.unit = String(k);
      if (last && M.probs) {
        f.appendChild(el("span", null, M.classes[k] + " " + (100 * M.probs[k]).toFixed(1) + "%"));
        var bar = el("span", "bar"); bar.style.width = Math.round(60 * M.probs[k]) + "px";
        f.appendChild(bar);
        if (k === M.predicted) { f.classList.add("pred"); }
      } else {
        f.appendChild(el("span", null, k + ": " + fmt(values[k])));
      }
      box.appendChild(f);
    }
  }

  var network = document.getElementById("network");
  function redraw(col) {
    var old = document.getElementById("col-" + col.name);
    network.replaceChild(renderColumn(col), old);
    if (selected) { mark(selected.layer, selected.unit); }
  }
  columns.forEach(function (col) { network.appendChild(renderColumn(col)); });
  network.addEventListener("click", function (ev) {
    var t = ev.target.closest("[data-unit]");
    if (t && !t.closest("#unit-detail")) { select(t.dataset.layer, t.dataset.unit); }
  });

  var sub = [M.what + (M.label !== null && M.label !== undefined ? " (true class: " +
             M.classes[M.label] + ")" : ""),
             "predicted: " + M.classes[M.predicted] +
             (M.probs ? " (" + (100 * M.probs[M.predicted]).toFixed(1) + "%)" : ""),
             M.normalisation ? "input " + M.normalisation : "",
             "written " + M.written].filter(Boolean).join(" \u00b7 ");
  document.getElementById("subtitle").textContent = sub;

  // -- receptive fields ---------------------------------------------------------------------
  function parseUnit(s) { return s.split(",").map(Number); }
  function fieldBox(layerName, unit, on) {  // [y0, y1, x0, x1] of unit's field on `on`
    var f = byName[layerName] && byName[layerName].fields[on];
    if (!f) { return null; }
    var y = unit[1], x = unit[2];
    var y0 = y * f.jump[0] - f.padding[0], x0 = x * f.jump[1] - f.padding[1];
    return [y0, y0 + f.size[0], x0, x0 + f.size[1]];
  }
  function mark(layerName, unitText) {
    document.querySelectorAll(".rf-box").forEach(function (e) { e.remove(); });
    document.querySelectorAll(".sel").forEach(function (e) { e.classList.remove("sel"); });
    var me = document.querySelector('[data-layer="' + layerName + '"][data-unit="' + unitText + '"]');
    if (me) { me.classList.add("sel"); }
    if (layerName === "input" || !byName[layerName].maps) { return; }
    var unit = parseUnit(unitText), upto = byName[layerName].index;
    columns.forEach(function (col) {
      if (!col.maps || (!col.isInput && col.index >= upto)) { return; }
      var b = fieldBox(layerName, unit, col.name);
      if (!b) { return; }
      var H = col.shape[1], W = col.shape[2], cs = cellSize(H, W, col.isInput);
      document.querySelectorAll('.map[data-layer="' + col.name + '"]').forEach(function (map) {
        var r = el("div", "rf-box");
        r.dataset.layer = col.name; r.dataset.box = b.join(",");
        var y0 = Math.max(0, b[0]), y1 = Math.min(H, b[1]), x0 = Math.max(0, b[2]), x1 = Math.min(W, b[3]);
        r.style.top = y0 * cs + "px"; r.style.left = x0 * cs + "px";
        r.style.height = (y1 - y0) * cs + "px"; r.style.width = (x1 - x0) * cs + "px";
        map.appendChild(r);
      });
    });
  }

  // -- a unit's value from its inputs --------------------------------------------------------
  function windowCells(l, y, x, H, W) {  // [[iy, ix, inside], ...] of a conv/pool window
    var p = l.params, K = p.kernel, S = p.stride, P = p.pad, Dl = p.dilation, cells = [];
    for (var a = 0; a < K[0]; a++) {
      for (var b = 0; b < K[1]; b++) {
        var iy = y * S[0] - P[0] + a * Dl[0], ix = x * S[1] - P[1] + b * Dl[1];
        cells.push([iy, ix, iy >= 0 && iy < H && ix >= 0 && ix < W]);
      }
    }
    return cells;
  }

  var EXPLAINED = ["conv", "maxpool", "avgpool", "adaptive_avgpool", "batchnorm", "relu",
                   "leaky_relu", "sigmoid", "tanh", "identity", "linear"];
  function compute(l, unit) {  // {value, parts} in float64 from the layer's input, or null
    if (EXPLAINED.indexOf(l.kind) < 0 || l.input === null) { return null; }
    var xin = inp(l), s = l.in_shape, p = l.params, o = l.shape;
    if (l.kind === "linear") {
      var Wt = blob(p.weight), nin = p.wshape[1], k = unit[0], terms = [], sum = 0;
      for (var i = 0; i < nin; i++) { var t = Wt[k * nin + i] * xin[i]; terms.push([i, xin[i], Wt[k * nin + i], t]); sum += t; }
      var bias = p.bias ? blob(p.bias)[k] : 0;
      return {value: sum + bias, terms: terms, sum: sum, bias: bias};
    }
    var c = unit[0], y = unit[1], x = unit[2], C = s[0], H = s[1], W = s[2];
    var at = function (ch, iy, ix) { return xin[(ch * H + iy) * W + ix]; };
    if (l.kind === "conv") {
      var w = blob(p.weight), cin = p.wshape[1], perG = o[0] / p.groups;
      var g = Math.floor(c / perG), KK = p.kernel[0] * p.kernel[1], rows = [], total = 0;
      var cells = windowCells(l, y, x, H, W);
      for (var j = 0; j < cin; j++) {
        var ci = g * cin + j, patch = [], kern = [], prod = [], part = 0;
        for (var q = 0; q < KK; q++) {
          var cell = cells[q], v = cell[2] ? at(ci, cell[0], cell[1]) : 0;
          var wv = w[(c * cin + j) * KK + q];
          patch.push(cell[2] ? v : null); kern.push(wv); prod.push(v * wv); part += v * wv;
        }
        total += part;
        rows.push({channel: ci, patch: patch, kernel: kern, products: prod, partial: part, running: total});
      }
      var b = p.bias ? blob(p.bias)[c] : 0;
      return {value: total + b, rows: rows, sum: total, bias: b, hasBias: !!p.bias};
    }
    if (l.kind === "maxpool" || l.kind === "avgpool") {
      var cells2 = windowCells(l, y, x, H, W), vals = [], best = -Infinity, arg = -1, sum2 = 0, n = 0;
      cells2.forEach(function (cell, q) {
        var v2 = cell[2] ? at(c, cell[0], cell[1]) : null;
        vals.push(v2);
        if (v2 !== null) { sum2 += v2; n += 1; if (v2 > best) { best = v2; arg = q; } }
      });
      if (l.kind === "maxpool") { return {value: best, window: vals, arg: arg}; }
      // PyTorch's divisor: the window clipped to the padded input, or to the input itself
      var K = p.kernel, S = p.stride, P = p.pad;
      var h0 = y * S[0] - P[0], w0 = x * S[1] - P[1];
      var h1 = Math.min(h0 + K[0], H + P[0]), w1 = Math.min(w0 + K[1], W + P[1]);
      var div = (h1 - h0) * (w1 - w0);
      if (!p.count_include_pad) { div = (Math.min(h1, H) - Math.max(h0, 0)) * (Math.min(w1, W) - Math.max(w0, 0)); }
      return {value: sum2 / div, window: vals, sum: sum2, divisor: div};
    }
    if (l.kind === "adaptive_avgpool") {
      var ys = Math.floor(y * H / o[1]), ye = Math.ceil((y + 1) * H / o[1]);
      var xs = Math.floor(x * W / o[2]), xe = Math.ceil((x + 1) * W / o[2]), s3 = 0, n3 = 0;
      for (var iy = ys; iy < ye; iy++) { for (var ix = xs; ix < xe; ix++) { s3 += at(c, iy, ix); n3++; } }
      return {value: s3 / n3, sum: s3, count: n3, box: [ys, ye, xs, xe]};
    }
    var xv = at(c, y, x);
    if (l.kind === "batchnorm") {
      var mu = blob(p.mean)[c], va = blob(p.var)[c], ga = blob(p.gamma)[c], be = blob(p.beta)[c];
      return {value: (xv - mu) / Math.sqrt(va + p.eps) * ga + be, x: xv, mean: mu, vari: va, gamma: ga, beta: be};
    }
    if (l.kind === "relu") { return {value: Math.max(0, xv), x: xv}; }
    if (l.kind === "leaky_relu") { return {value: xv > 0 ? xv : p.slope * xv, x: xv}; }
    if (l.kind === "sigmoid") { return {value: 1 / (1 + Math.exp(-xv)), x: xv}; }
    if (l.kind === "tanh") { return {value: Math.tanh(xv), x: xv}; }
    if (l.kind === "identity") { return {value: xv, x: xv}; }
    return null;
  }

  function engineValue(l, unit) {
    var o = l.shape, v = out(l);
    return unit.length === 1 ? v[unit[0]] : v[(unit[0] * o[1] + unit[1]) * o[2] + unit[2]];
  }

  // -- gradient of a unit with respect to the input (chain rule, layer by layer) --------------
  function gradient(layerName, unit) {
    if (!M.chain) { return null; }
    var l = byName[layerName], g = new Float64Array(out(l).length);
    var o = l.shape;
    g[unit.length === 1 ? unit[0] : (unit[0] * o[1] + unit[1]) * o[2] + unit[2]] = 1;
    for (var i = l.index; i >= 0; i--) {
      g = backward(LAYERS[i], g);
      if (!g) { return null; }
    }
    return g;
  }

  function backward(l, g) {
    if (l.kind !== "flatten" && compute(l, [0, 0, 0]) === null) { return null; }  // not explained
    var s = l.in_shape, o = l.shape, p = l.params, xin = inp(l), n = xin.length;
    var gi = new Float64Array(n), k;
    if (l.kind === "flatten" || l.kind === "identity") { return g; }
    if (l.kind === "linear") {
      var Wt = blob(p.weight), nin = p.wshape[1];
      for (k = 0; k < o[0]; k++) { if (g[k]) { for (var i = 0; i < nin; i++) { gi[i] += Wt[k * nin + i] * g[k]; } } }
      return gi;
    }
    var C = s[0], H = s[1], W = s[2], Ho = o[1], Wo = o[2];
    if (["relu", "leaky_relu", "sigmoid", "tanh", "batchnorm"].indexOf(l.kind) >= 0) {
      var y = out(l);
      for (k = 0; k < n; k++) {
        if (!g[k]) { continue; }
        var x = xin[k], c = Math.floor(k / (H * W)), d;
        if (l.kind === "relu") { d = x > 0 ? 1 : 0; }
        else if (l.kind === "leaky_relu") { d = x > 0 ? 1 : p.slope; }
        else if (l.kind === "sigmoid") { d = y[k] * (1 - y[k]); }
        else if (l.kind === "tanh") { d = 1 - y[k] * y[k]; }
        else { d = blob(p.gamma)[c] / Math.sqrt(blob(p.var)[c] + p.eps); }
        gi[k] = g[k] * d;
      }
      return gi;
    }
    for (var c2 = 0; c2 < o[0]; c2++) {
      for (var yy = 0; yy < Ho; yy++) {
        for (var xx = 0; xx < Wo; xx++) {
          var gv = g[(c2 * Ho + yy) * Wo + xx];
          if (!gv) { continue; }
          var unit = [c2, yy, xx];
          if (l.kind === "conv") {
            var w = blob(p.weight), cin = p.wshape[1], grp = Math.floor(c2 / (o[0] / p.groups));
            var cells = windowCells(l, yy, xx, H, W), KK = cells.length;
            for (var j = 0; j < cin; j++) {
              var ci = grp * cin + j;
              for (var q = 0; q < KK; q++) {
                if (cells[q][2]) { gi[(ci * H + cells[q][0]) * W + cells[q][1]] += gv * w[(c2 * cin + j) * KK + q]; }
              }
            }
          } else if (l.kind === "maxpool") {
            var r = compute(l, unit), cell = windowCells(l, yy, xx, H, W)[r.arg];
            gi[(c2 * H + cell[0]) * W + cell[1]] += gv;
          } else if (l.kind === "avgpool") {
            var r2 = compute(l, unit);
            windowCells(l, yy, xx, H, W).forEach(function (cc) {
              if (cc[2]) { gi[(c2 * H + cc[0]) * W + cc[1]] += gv / r2.divisor; }
            });
          } else if (l.kind === "adaptive_avgpool") {
            var r3 = compute(l, unit), bx = r3.box;
            for (var a = bx[0]; a < bx[1]; a++) { for (var b = bx[2]; b < bx[3]; b++) { gi[(c2 * H + a) * W + b] += gv / r3.count; } }
          } else { return null; }
        }
      }
    }
    return gi;
  }

"""

_END = r"""
  window.convscopeExplain = {
    select: select,
    unitValue: function (layerName, unitText) {
      var l = byName[layerName], u = parseUnit(unitText), r = compute(l, u);
      return {computed: r ? r.value : null, engine: engineValue(l, u)};
    },
    gradient: function (layerName, unitText) { var g = gradient(layerName, parseUnit(unitText)); return g ? Array.from(g) : null; },
    fieldBox: function (layerName, unitText, on) { return fieldBox(layerName, parseUnit(unitText), on); },
    windowTaps: function (layerName, y, x) {  // the window's cells on the padded grid
      var l = byName[layerName], s = l.in_shape, P = l.params.pad;
      return windowCells(l, y, x, s[1], s[2]).map(function (c) { return [c[0] + P[0], c[1] + P[1]]; });
    },
    showPage: function (column, page) { pages[column] = page; redraw(byName[column] || columns[0]); },
    layers: LAYERS.map(function (l) { return {name: l.name, kind: l.kind, shape: l.shape, maps: l.maps}; })
  };
})();
"""

SCRIPT = _START + PANEL_SCRIPT + _END
