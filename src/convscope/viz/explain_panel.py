"""The explainer page's panel `#unit-detail`: what a clicked unit shows (plain JavaScript).

A part of the page's one script (`explain_page.SCRIPT` puts it inside its closure, where
`compute`, `gradient`, `fieldBox`, `windowCells` and the data are): the receptive field in
words, the steps from the layer's input to the unit's value for each layer kind (a
convolution's patches, kernels, products and partial sums, listed by the size of the partial
sum; a pooling window; the batch-norm formula; relu(x); a Linear unit's largest products),
the value computed here next to the engine's, the effective receptive field (the gradient
of the unit with respect to the input), and for a convolution or pooling layer the window
sliding over the layer's actual input with the layer's arithmetic from
`viz.animate.conv_animation`.
"""

from __future__ import annotations

__all__ = ["PANEL_SCRIPT"]

PANEL_SCRIPT = r"""
  // -- the detail panel ----------------------------------------------------------------------
  function gridTable(values, K, cls) {
    var t = el("table", "grid");
    for (var a = 0; a < K[0]; a++) {
      var tr = el("tr");
      for (var b = 0; b < K[1]; b++) {
        var v = values[a * K[1] + b], td = el("td", null, v === null ? "pad" : fmt(v));
        if (v === null) { td.className = "pad"; }
        if (cls && cls(a * K[1] + b)) { td.classList.add("win"); }
        tr.appendChild(td);
      }
      t.appendChild(tr);
    }
    return t;
  }
  function para(html) { var p = el("p"); p.innerHTML = html; return p; }
  function formula(text) { return el("div", "formula", text); }

  function explainConv(l, unit, r, panel) {
    var c = unit[0];
    panel.appendChild(para("Each input channel's <b>patch</b> (the window of the layer's input " +
      "under the kernel; lilac: zero padding) is multiplied element-wise by the <b>kernel</b> " +
      "of that channel; the <b>products</b> are summed to a <b>partial sum</b>; the partial " +
      "sums of all " + r.rows.length + " input channels plus the bias give the value. " +
      "The channels are listed by the size of their partial sum, largest first: the top rows " +
      "are why the unit has its value."));
    var t = el("table", "steps"), head = el("tr");
    ["input channel", "input patch", "kernel w[" + c + ", ci]", "products", "partial sum", "running total"].forEach(function (h) { head.appendChild(el("th", null, h)); });
    var thead = el("thead"); thead.appendChild(head); t.appendChild(thead);
    var body = el("tbody"), K = l.params.kernel, shown = 4, running = 0;
    var rows = r.rows.slice().sort(function (a, b) { return Math.abs(b.partial) - Math.abs(a.partial); });
    rows.forEach(function (row, i) {
      running += row.partial; row.running = running;
      var tr = el("tr");
      tr.dataset.channel = row.channel;
      if (i >= shown) { tr.style.display = "none"; tr.className = "more"; }
      tr.appendChild(el("td", null, String(row.channel)));
      [row.patch, row.kernel, row.products].forEach(function (vals) { var td = el("td"); td.appendChild(gridTable(vals, K)); tr.appendChild(td); });
      var ps = el("td", "partial", fmt(row.partial)); ps.dataset.value = row.partial; tr.appendChild(ps);
      tr.appendChild(el("td", null, fmt(row.running)));
      body.appendChild(tr);
    });
    t.appendChild(body); panel.appendChild(t);
    if (r.rows.length > shown) {
      var more = el("button", "show-all", "show all " + r.rows.length + " input channels");
      more.onclick = function () { body.querySelectorAll("tr.more").forEach(function (tr) { tr.style.display = ""; }); more.remove(); };
      panel.appendChild(more);
    }
    panel.appendChild(formula("sum of the partial sums " + fmt(r.sum) + " + bias " +
      (r.hasBias ? fmt(r.bias) : "0 (this convolution has no bias: the batch norm after it adds one)") +
      " = " + fmt(r.value)));
  }

  function explainOther(l, unit, r, panel) {
    var p = l.params, K = p.kernel;
    if (l.kind === "maxpool") {
      panel.appendChild(para("Max pooling: the largest value of the " + K.join("\u00d7") +
        " window of channel " + unit[0] + " of the layer's input (highlighted; padding never wins)."));
      panel.appendChild(gridTable(r.window, K, function (q) { return q === r.arg; }));
      panel.appendChild(formula("max(window) = " + fmt(r.value)));
    } else if (l.kind === "avgpool") {
      panel.appendChild(para("Average pooling: the mean of the " + K.join("\u00d7") + " window: its sum " +
        "divided by " + (p.count_include_pad ? "the number of its cells, padding cells counted (count_include_pad=True)" :
        "the number of its cells inside the input (count_include_pad=False)") + "."));
      panel.appendChild(gridTable(r.window, K));
      panel.appendChild(formula("sum " + fmt(r.sum) + " / " + r.divisor + " = " + fmt(r.value)));
    } else if (l.kind === "adaptive_avgpool") {
      panel.appendChild(para("Adaptive average pooling: the mean of rows " + r.box[0] + ".." +
        (r.box[1] - 1) + ", columns " + r.box[2] + ".." + (r.box[3] - 1) + " of channel " + unit[0] + "."));
      panel.appendChild(formula("sum " + fmt(r.sum) + " / " + r.count + " = " + fmt(r.value)));
    } else if (l.kind === "batchnorm") {
      panel.appendChild(para("Batch normalisation in evaluation mode: the input value x minus the " +
        "running mean of channel " + unit[0] + ", divided by the running standard deviation, " +
        "scaled by \u03b3 and shifted by \u03b2 (learnt)."));
      panel.appendChild(formula("(x - \u03bc) / \u221a(\u03c3\u00b2 + \u03b5) \u00b7 \u03b3 + \u03b2 = (" +
        fmt(r.x) + " - " + fmt(r.mean) + ") / \u221a(" + fmt(r.vari) + " + " + l.params.eps +
        ") \u00b7 " + fmt(r.gamma) + " + " + fmt(r.beta) + " = " + fmt(r.value)));
    } else if (l.kind === "relu") {
      panel.appendChild(formula("relu(x) = max(0, x) = max(0, " + fmt(r.x) + ") = " + fmt(r.value)));
    } else if (l.kind === "leaky_relu") {
      panel.appendChild(formula("leaky_relu(x) = x if x > 0 else " + p.slope + "x; x = " + fmt(r.x) + " \u2192 " + fmt(r.value)));
    } else if (l.kind === "sigmoid") {
      panel.appendChild(formula("sigmoid(x) = 1 / (1 + e^-x) = 1 / (1 + e^-(" + fmt(r.x) + ")) = " + fmt(r.value)));
    } else if (l.kind === "tanh") {
      panel.appendChild(formula("tanh(" + fmt(r.x) + ") = " + fmt(r.value)));
    } else if (l.kind === "identity") {
      panel.appendChild(para("Dropout in evaluation mode passes its input unchanged: " + fmt(r.x) + "."));
    } else if (l.kind === "linear") {
      var top = r.terms.slice().sort(function (a, b) { return Math.abs(b[3]) - Math.abs(a[3]); }).slice(0, 10);
      panel.appendChild(para("A fully connected unit: the sum over all " + r.terms.length +
        " inputs of weight \u00d7 input, plus the bias. The 10 largest products:"));
      var t = el("table", "steps"), hr = el("tr"), th = el("thead"), tb = el("tbody");
      [flatIndex(l, "") === "" ? "input i" : "input i = (c, y, x) before Flatten", "x_i", "W[k, i]", "product"].forEach(function (h) { hr.appendChild(el("th", null, h)); });
      th.appendChild(hr); t.appendChild(th); t.appendChild(tb);
      top.forEach(function (term) {
        var tr = el("tr");
        term.forEach(function (v, j) { tr.appendChild(el("td", null, j ? fmt(v) : flatIndex(l, v))); });
        tb.appendChild(tr);
      });
      panel.appendChild(t);
      panel.appendChild(formula("sum of all " + r.terms.length + " products " + fmt(r.sum) + " + bias " + fmt(r.bias) + " = " + fmt(r.value)));
      if (l.index === LAYERS.length - 1 && M.probs) {
        panel.appendChild(para("softmax: e^score / \u03a3 e^scores = " +
          (100 * M.probs[unit[0]]).toFixed(2) + "% for " + M.classes[unit[0]] + "."));
      }
    }
  }

  function flatIndex(l, i) {  // "i = (c, y, x)" when the input is a flattened feature map
    var f = byName[l.input];
    if (!f || f.kind !== "flatten" || f.in_shape.length !== 3) { return String(i); }
    if (i === "") { return "flat"; }
    var H = f.in_shape[1], W = f.in_shape[2], c = Math.floor(i / (H * W)), r = i % (H * W);
    return i + " = (" + c + ", " + Math.floor(r / W) + ", " + (r % W) + ")";
  }

  function drawGradient(panel, l, unit) {
    var g = gradient(l.name, unit);
    if (!g) { panel.appendChild(para("(The effective receptive field is not computed here: the layers between this unit " +
      "and the input are not a plain chain of the kinds this page explains.)")); return; }
    var C = M.input_shape[0], H = M.input_shape[1], W = M.input_shape[2];
    var mag = new Float64Array(H * W), mx = 0;
    for (var c = 0; c < C; c++) { for (var k = 0; k < H * W; k++) { mag[k] += Math.abs(g[c * H * W + k]); } }
    for (k = 0; k < H * W; k++) { mx = Math.max(mx, mag[k]); }
    var cs = Math.max(4, Math.floor(196 / Math.max(H, W)));
    var cv = el("canvas"); cv.id = "erf"; cv.width = W * cs; cv.height = H * cs;
    var ctx = cv.getContext("2d");
    for (var y = 0; y < H; y++) {
      for (var x = 0; x < W; x++) {
        var t = mx > 0 ? Math.sqrt(mag[y * W + x] / mx) : 0;
        ctx.fillStyle = "rgb(" + Math.round(255 * t) + "," + Math.round(200 * t * t) + "," + Math.round(80 * (1 - t)) + ")";
        ctx.fillRect(x * cs, y * cs, cs, cs);
      }
    }
    var b = unit.length === 3 ? fieldBox(l.name, unit, "input") : null;
    if (b) { ctx.strokeStyle = "#e41a1c"; ctx.lineWidth = 2; ctx.strokeRect(b[2] * cs, b[0] * cs, (b[1] - b[0]) * cs, (b[3] - b[2]) * cs); }
    var box = el("div");
    box.appendChild(el("h3", null, "Effective receptive field"));
    box.appendChild(cv);
    box.appendChild(el("p", "note", "|d unit / d input| summed over the input channels " +
      "(square root for contrast; bright: the pixels this unit's value depends on most), " +
      "by the chain rule through every layer; red: the theoretical receptive field. " +
      "Pixels outside it have no influence. viz.rf averages this over many images."));
    panel.appendChild(box);
    cv.dataset.max = mx;
  }

  function animation(panel, l, unit) {
    if (["conv", "maxpool", "avgpool"].indexOf(l.kind) < 0) { return; }
    var s = l.in_shape, o = l.shape, p = l.params, H = s[1], W = s[2];
    var ch = unit[0];
    if (l.kind === "conv") {  // the input channel with the largest partial sum
      ch = compute(l, unit).rows.reduce(function (a, b) { return Math.abs(b.partial) > Math.abs(a.partial) ? b : a; }).channel;
    }
    var P = p.pad, Hp = H + 2 * P[0], Wp = W + 2 * P[1], xin = inp(l), y = out(l);
    var cs = Math.max(3, Math.min(18, Math.floor(250 / Math.max(Hp, Wp))));
    var oc = Math.max(3, Math.min(18, Math.floor(250 / Math.max(o[1], o[2]))));
    var box = el("div"), cv = el("canvas"), pos = unit[1] * o[2] + unit[2], timer = null;
    cv.id = "slide"; cv.width = Wp * cs + 30 + o[2] * oc; cv.height = Math.max(Hp * cs, o[1] * oc) + 4;
    box.appendChild(el("h3", null, "The window sliding over the layer's input"));
    var lo = Infinity, hi = -Infinity, sc = absmax(y);
    for (var k = 0; k < H * W; k++) { lo = Math.min(lo, xin[ch * H * W + k]); hi = Math.max(hi, xin[ch * H * W + k]); }
    function draw() {
      var g = cv.getContext("2d"), oy = Math.floor(pos / o[2]), ox = pos % o[2];
      g.fillStyle = "#fff"; g.fillRect(0, 0, cv.width, cv.height);
      for (var a = 0; a < Hp; a++) {
        for (var b = 0; b < Wp; b++) {
          var iy = a - P[0], ix = b - P[1], inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
          g.fillStyle = inside ? grey(xin[(ch * H + iy) * W + ix], lo, hi) : "#e6c9ef";
          g.fillRect(b * cs, a * cs, cs, cs);
        }
      }
      windowCells(l, oy, ox, H, W).forEach(function (cell) {
        g.strokeStyle = "#08519c"; g.lineWidth = 2;
        g.strokeRect((cell[1] + P[1]) * cs + 1, (cell[0] + P[0]) * cs + 1, cs - 2, cs - 2);
      });
      var x0 = Wp * cs + 30;
      for (a = 0; a < o[1]; a++) {
        for (b = 0; b < o[2]; b++) {
          var q = a * o[2] + b;
          g.fillStyle = q <= pos ? colour(y[(unit[0] * o[1] + a) * o[2] + b], sc) : "#f4f4f4";
          g.fillRect(x0 + b * oc, a * oc, oc, oc);
        }
      }
      g.strokeStyle = "#00a6bb"; g.lineWidth = 2; g.strokeRect(x0 + ox * oc, oy * oc, oc, oc);
      where.textContent = "output position (" + oy + ", " + ox + ")";
    }
    var ctl = el("p"), play = el("button", null, "play"), step = el("button", null, "step \u25b6"), where = el("span");
    play.onclick = function () {
      if (timer) { clearInterval(timer); timer = null; play.textContent = "play"; return; }
      play.textContent = "pause";
      timer = setInterval(function () { if (!document.body.contains(cv)) { clearInterval(timer); return; } pos = (pos + 1) % (o[1] * o[2]); draw(); }, 120);
    };
    step.onclick = function () { pos = (pos + 1) % (o[1] * o[2]); draw(); };
    ctl.appendChild(play); ctl.appendChild(step); ctl.appendChild(document.createTextNode(" ")); ctl.appendChild(where);
    box.appendChild(cv); box.appendChild(ctl);
    box.appendChild(el("p", "note", "Input channel " + ch + (l.kind === "conv" ? " (the one with the largest partial sum)" : "") + " of this layer (lilac: padding), " +
      "the " + p.kernel.join("\u00d7") + " window (blue) at the clicked unit's position, and " +
      "output channel " + unit[0] + " filled in up to that position. Play to slide it."));
    if (l.arith) {
      box.appendChild(el("h3", null, "The layer's arithmetic"));
      l.arith.formulas.forEach(function (f) { box.appendChild(formula(f)); });
      var d = l.arith.dropped;
      box.appendChild(el("p", "note", "From convscope.viz.animate / arith: output " +
        l.arith.output.join("\u00d7") + (d.some(Boolean) ? "; the last " + d.join(" row(s) / ") +
        " column(s) of the input are never reached by the window" : "; every input row and column is reached") + "."));
    }
    panel.appendChild(box);
    draw();
  }

  function select(layerName, unitText) {
    selected = {layer: layerName, unit: unitText};
    mark(layerName, unitText);
    var panel = document.getElementById("unit-detail");
    panel.innerHTML = "";
    panel.dataset.layer = layerName; panel.dataset.unit = unitText;
    var unit = parseUnit(unitText);
    if (layerName === "input") {
      var H = M.input_shape[1], W = M.input_shape[2];
      panel.appendChild(el("h2", null, "input [" + unitText + "] = " + fmt(blob("input")[(unit[0] * H + unit[1]) * W + unit[2]])));
      panel.appendChild(para("A pixel of the image, normalised: " + M.normalisation + "."));
      return;
    }
    var l = byName[layerName], r = compute(l, unit), ev = engineValue(l, unit);
    panel.appendChild(el("h2", null, "layer " + l.name + " (" + l.repr + "), unit [" + unitText + "]" +
      (unit.length === 3 ? " (channel, row, column)" : "")));
    if (l.maps) {
      var b = fieldBox(l.name, unit, "input");
      if (b) {
        panel.appendChild(para("Receptive field on the input: rows " + b[0] + ".." + (b[1] - 1) +
          ", columns " + b[2] + ".." + (b[3] - 1) + " (" + (b[1] - b[0]) + "\u00d7" + (b[3] - b[2]) +
          ", from convscope.summary / arith; parts outside 0.." + (H0() - 1) + " lie in the padding), " +
          "outlined in red on the input and on every earlier layer."));
      }
    }
    var row = el("div", "row"), left = el("div"), right = el("div");
    if (r) { (l.kind === "conv" ? explainConv : explainOther)(l, unit, r, left); }
    else { left.appendChild(para("This layer kind (" + l.module + ") is not explained step by step; its value is the engine's.")); }
    var v = el("p", "value");
    if (r) {
      var fin = el("b", "final", full(r.value)); fin.dataset.value = r.value;
      v.appendChild(document.createTextNode("computed here: ")); v.appendChild(fin);
      v.appendChild(document.createTextNode(" \u00b7 the engine's forward pass: "));
    }
    var eng = el("b", "engine", full(ev)); eng.dataset.value = ev; v.appendChild(eng);
    if (r) {
      var diff = Math.abs(r.value - ev), okSpan = el("span", diff <= 1e-5 * Math.max(1, Math.abs(ev)) ? "ok" : "bad",
        " (difference " + diff.toExponential(1) + ")");
      v.appendChild(okSpan);
    }
    left.appendChild(v);
    row.appendChild(left);
    if (l.maps || l.kind === "linear") { drawGradient(right, l, unit); }
    row.appendChild(right);
    panel.appendChild(row);
    animation(panel, l, unit);
  }
  function H0() { return M.input_shape[1]; }

"""
