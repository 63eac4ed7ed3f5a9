"""The report's live arithmetic widget: plain JavaScript, no library, no network.

Sliders set the input size W, the kernel K, the padding P, the stride S, the dilation d and
a number L of identical layers; the widget draws the kernel sliding over the padded input of
the first layer and prints, per layer, what `convscope.arith` computes (the browser tests
compare the two over a grid of settings):

    span  = d(K - 1) + 1                                   (arith._span)
    W'    = floor((W + 2P - span) / S) + 1                 (arith.conv_output_size)
    dropped = max(W - ((W' - 1) S - P + span), 0)          (arith.unused_input)
    r_l = r_{l-1} + (span - 1) j_{l-1},  j_l = j_{l-1} S   (arith.rf_layer)

A setting with no output (the window larger than the padded input) names the layer and the
sizes, as `arith.conv_output_size` does. `window.convscopeArith.compute(W, K, P, S, D, L)`
returns the same numbers as an object, for the tests and the curious.
"""

from __future__ import annotations

__all__ = ["WIDGET_HTML"]

_SLIDERS = (  # id, label, min, max, start
    ("W", "input size W", 1, 32, 7),
    ("K", "kernel K", 1, 9, 3),
    ("P", "padding P", 0, 6, 1),
    ("S", "stride S", 1, 5, 2),
    ("D", "dilation d", 1, 4, 1),
    ("L", "layers L", 1, 5, 1),
)

_ROWS = "\n".join(
    f'<label class="w-row"><span>{label}</span><input type="range" id="w-{key}" '
    f'min="{lo}" max="{hi}" value="{start}"><b id="w-{key}-value">{start}</b></label>'
    for key, label, lo, hi, start in _SLIDERS)

WIDGET_HTML = """
<div class="widget" id="widget">
<div class="w-controls">
""" + _ROWS + """
</div>
<div class="w-result">
<p class="w-formula" id="w-formula"></p>
<p>output size <b id="w-out"></b> &middot; rows dropped by the stride (layer 1)
<b id="w-dropped"></b> &middot; receptive field <b id="w-rf"></b> &middot; jump
<b id="w-jump"></b></p>
<p class="w-error" id="w-error"></p>
<table class="w-table"><thead><tr><th>layer</th><th>input</th><th>output</th>
<th>dropped</th><th>receptive field</th><th>jump</th></tr></thead>
<tbody id="w-layers"></tbody></table>
</div>
<canvas id="w-canvas" width="760" height="300"></canvas>
</div>
<script>
(function () {
  "use strict";
  // The arithmetic of convscope.arith for one axis, layer after layer.
  function compute(W, K, P, S, D, L) {
    var span = D * (K - 1) + 1, size = W, r = 1, j = 1, layers = [];
    for (var l = 1; l <= L; l++) {
      var padded = size + 2 * P;
      if (padded < span) {
        return {layers: layers, error: "layer " + l + ": the kernel spans " + span +
                " (d(K-1)+1), larger than the padded input " + padded + " (" + size +
                " + 2*" + P + "): no output", errorLayer: l};
      }
      var out = Math.floor((padded - span) / S) + 1;
      var dropped = Math.max(size - ((out - 1) * S - P + span), 0);
      r = r + (span - 1) * j;
      j = j * S;
      layers.push({input: size, output: out, dropped: dropped, rf: r, jump: j});
      size = out;
    }
    return {layers: layers, error: null, errorLayer: null};
  }
  window.convscopeArith = {compute: compute};

  var keys = ["W", "K", "P", "S", "D", "L"], pos = 0, timer = null;
  function value(k) { return +document.getElementById("w-" + k).value; }
  function setText(id, text) { document.getElementById(id).textContent = text; }

  function update() {
    keys.forEach(function (k) { setText("w-" + k + "-value", value(k)); });
    var W = value("W"), K = value("K"), P = value("P"), S = value("S"), D = value("D");
    var res = compute(W, K, P, S, D, value("L"));
    var rows = res.layers.map(function (x, i) {
      return "<tr><td>" + (i + 1) + "</td><td>" + x.input + "</td><td>" + x.output +
             "</td><td>" + x.dropped + "</td><td>" + x.rf + "</td><td>" + x.jump + "</td></tr>";
    });
    document.getElementById("w-layers").innerHTML = rows.join("");
    var last = res.layers[res.layers.length - 1];
    setText("w-error", res.error || "");
    setText("w-out", res.error ? "none" : String(last.output));
    setText("w-dropped", res.layers.length ? String(res.layers[0].dropped) : "-");
    setText("w-rf", res.error ? "-" : String(last.rf));
    setText("w-jump", res.error ? "-" : String(last.jump));
    var inner = W + 2 * P - (D * (K - 1) + 1);
    var exact = inner >= 0 && inner % S === 0;
    setText("w-formula", "W' = " + (exact ? "" : "floor(") + "(W + 2P - d(K-1) - 1)/S" +
            (exact ? "" : ")") + " + 1 = " + (exact ? "" : "floor(") + "(" + W + " + 2*" + P +
            " - " + D + "*(" + K + "-1) - 1)/" + S + (exact ? "" : ")") + " + 1 = " +
            (res.layers.length ? res.layers[0].output : "no output"));
    pos = 0;
    draw(res);
  }

  function draw(res) {
    var canvas = document.getElementById("w-canvas"), g = canvas.getContext("2d");
    var W = value("W"), K = value("K"), P = value("P"), S = value("S"), D = value("D");
    var n = W + 2 * P, cell = Math.max(6, Math.min(26, Math.floor(300 / n)));
    var x0 = 12, y0 = 28, need = y0 + n * cell + 30;
    if (canvas.height !== need) { canvas.height = need; }  // resizing clears it
    g.fillStyle = "#ffffff"; g.fillRect(0, 0, canvas.width, canvas.height);
    g.font = "13px sans-serif"; g.fillStyle = "#222";
    g.fillText("layer 1: input " + W + "x" + W + " padded to " + n + "x" + n, x0, 16);
    if (!res.layers.length) {
      g.fillStyle = "#b00"; g.fillText(res.error, x0, y0 + 16); return;
    }
    var first = res.layers[0], out = first.output, span = D * (K - 1) + 1;
    var lastCovered = (out - 1) * S + span;  // grid cells [0, lastCovered) can be reached
    var oi = Math.floor(pos / out), oj = pos % out;
    for (var i = 0; i < n; i++) {
      for (var jj = 0; jj < n; jj++) {
        var pad = i < P || jj < P || i >= P + W || jj >= P + W;
        var far = i >= lastCovered || jj >= lastCovered;
        g.fillStyle = far ? "#fcbba1" : pad ? "#ffffff" : "#9ecae1";
        g.fillRect(x0 + jj * cell, y0 + i * cell, cell, cell);
        g.strokeStyle = far ? "#de2d26" : "#bbbbbb";
        g.strokeRect(x0 + jj * cell + 0.5, y0 + i * cell + 0.5, cell - 1, cell - 1);
      }
    }
    for (var a = 0; a < K; a++) {
      for (var b = 0; b < K; b++) {
        g.fillStyle = "#08519c";
        g.fillRect(x0 + (oj * S + b * D) * cell + 1, y0 + (oi * S + a * D) * cell + 1,
                   cell - 2, cell - 2);
      }
    }
    g.strokeStyle = "#08306b"; g.lineWidth = 2;
    g.strokeRect(x0 + oj * S * cell, y0 + oi * S * cell, span * cell, span * cell);
    g.lineWidth = 1;
    var ox = x0 + n * cell + 40, oc = Math.max(6, Math.min(26, Math.floor(300 / out)));
    g.fillStyle = "#222"; g.fillText("output " + out + "x" + out, ox, 16);
    for (i = 0; i < out; i++) {
      for (jj = 0; jj < out; jj++) {
        var k = i * out + jj;
        g.fillStyle = k === pos ? "#00695c" : k < pos ? "#99d8c9" : "#ffffff";
        g.fillRect(ox + jj * oc, y0 + i * oc, oc, oc);
        g.strokeStyle = "#5f9e8f";
        g.strokeRect(ox + jj * oc + 0.5, y0 + i * oc + 0.5, oc - 1, oc - 1);
      }
    }
    g.fillStyle = "#222";
    g.fillText(lastCovered < n ? "red: the last " + (n - lastCovered) + " row(s) and " +
               "column(s) no window reaches (" + first.dropped + " of them input)" :
               "every row and column is reached", x0, y0 + n * cell + 18);
  }

  function tick() {
    var res = compute(value("W"), value("K"), value("P"), value("S"), value("D"), 1);
    if (res.layers.length) {
      var out = res.layers[0].output;
      pos = (pos + 1) % (out * out);
      draw(res);
    }
  }

  keys.forEach(function (k) {
    document.getElementById("w-" + k).addEventListener("input", update);
  });
  update();
  timer = setInterval(tick, 700);
})();
</script>
"""
