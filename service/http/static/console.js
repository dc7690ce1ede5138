/* The hip–spine console (issue 13). Plain JavaScript, no build step, nothing fetched from
 * elsewhere: it talks to this service only (/console/examples/…, /console/evaluate).
 * Every text from an answer is put in the page with textContent, never parsed as HTML. */
"use strict";
(function () {
  var bundle = null;      // the Bundle being looked at
  var recorded = {};      // what-if key -> recorded value (from the first answer)
  var timer = null;
  var latest = 0;         // the number of the last request: an older answer is never shown

  /* main[data-state]: "busy" while a request is out, then "done" or "error" (aria-busy too). */
  function state(value) {
    document.querySelector("main").dataset.state = value;
    if (value === "busy") { $("result").setAttribute("aria-busy", "true"); }
    else { $("result").removeAttribute("aria-busy"); }
  }

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; }
      else if (k === "cls") { node.className = attrs[k]; }
      else { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }
  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } return node; }
  function status(text, isError) {
    var s = clear($("status"));
    if (text) { s.appendChild(el("div", { cls: isError ? "error" : "", text: text })); }
    if (isError) { state("error"); }
  }
  function safeHref(url) {
    return /^(https?:\/\/|\/)/i.test(url) ? url : null;
  }

  /* A tiny Markdown subset: # headings, - / * / 1. lists, **bold**, `code`, [text](url),
   * backslash escapes. Builds DOM nodes; no HTML from the text is ever interpreted. */
  function inline(text, parent) {
    var re = /\\([\\`*_\[\]<>|#+\-.!()])|\*\*([^*]+)\*\*|`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\)/g;
    var at = 0, m;
    while ((m = re.exec(text)) !== null) {
      if (m.index > at) { parent.appendChild(document.createTextNode(text.slice(at, m.index))); }
      if (m[1] !== undefined) { parent.appendChild(document.createTextNode(m[1])); }
      else if (m[2] !== undefined) { inline(m[2], parent.appendChild(el("strong"))); }
      else if (m[3] !== undefined) { parent.appendChild(el("code", { text: m[3] })); }
      else {
        var href = safeHref(m[5]);
        if (href) { inline(m[4], parent.appendChild(el("a", { href: href }))); }
        else { inline(m[4], parent); }
      }
      at = re.lastIndex;
    }
    if (at < text.length) { parent.appendChild(document.createTextNode(text.slice(at))); }
    return parent;
  }
  function markdown(src) {
    var root = el("div", { cls: "detail" });
    var list = null, listTag = null;
    (src || "").split(/\r?\n/).forEach(function (line) {
      var h = /^(#{1,6})\s+(.*)$/.exec(line);
      var ul = /^\s*[-*]\s+(.*)$/.exec(line);
      var ol = /^\s*\d+\.\s+(.*)$/.exec(line);
      if (ul || ol) {
        var tag = ul ? "ul" : "ol";
        if (!list || listTag !== tag) { list = root.appendChild(el(tag)); listTag = tag; }
        inline((ul || ol)[1], list.appendChild(el("li")));
        return;
      }
      list = null; listTag = null;
      if (h) { inline(h[2], root.appendChild(el("h" + Math.min(h[1].length + 2, 6)))); }
      else if (line.trim()) { inline(line, root.appendChild(el("p"))); }
    });
    return root;
  }

  function renderCards(cards) {
    var box = clear($("cards"));
    if (!cards.length) {
      box.appendChild(el("p", { cls: "muted", text: "No card: an EHR would show nothing for this patient (no input the rules use, or no findings)." }));
      return;
    }
    cards.forEach(function (card) {
      var c = el("article", { cls: "card " + card.indicator, "aria-label": "CDS card" });
      c.appendChild(el("div", { cls: "indicator", text: card.indicator }));
      c.appendChild(el("div", { cls: "summary", text: card.summary }));
      c.appendChild(markdown(card.detail));
      (card.suggestions || []).forEach(function (s) {
        c.appendChild(el("button", { type: "button", cls: "secondary", disabled: "disabled",
          title: "In the EHR this creates a draft CarePlan; the console never writes", text: s.label }));
      });
      if (card.links && card.links.length) {
        var ul = c.appendChild(el("ul", { cls: "plain" }));
        card.links.forEach(function (l) {
          var href = safeHref(l.url);
          ul.appendChild(el("li", {}, [href ? el("a", { href: href, text: l.label }) : l.label]));
        });
      }
      c.appendChild(el("p", { cls: "small", text: "Source: " + (card.source && card.source.label || "") }));
      box.appendChild(c);
    });
  }

  /* A flag's name that may wrap after its underscores (RED_FLAG_SCREEN_COMPLETE at 400 px). */
  function breakable(name) {
    var out = [];
    name.split("_").forEach(function (part, i, parts) {
      out.push(part + (i < parts.length - 1 ? "_" : ""));
      if (i < parts.length - 1) { out.push(el("wbr")); }
    });
    return out;
  }
  /* Beside the what-if fields (sticky at the bottom of the window): what the result is now. */
  function outcome(a) {
    var box = clear($("whatif-outcome"));
    box.className = "outcome" + (a.changes ? " changed" : "");
    box.appendChild(el("strong", { text: a.changes ? "What-if result: " : "Result as recorded: " }));
    box.appendChild(document.createTextNode(a.category.display + " (rule " + a.category.rule + ")"));
    if (a.changes) {
      box.appendChild(document.createTextNode("; before: " + a.base.category.display + ". "));
      box.appendChild(el("a", { href: "#result-heading", text: a.changes.length ? "What changed" : "Nothing changed" }));
    }
  }
  function triCell(value) { return el("td", { cls: "tri tri-" + value, text: value }); }
  function rows(tableId, items, make) {
    var body = clear($(tableId).tBodies[0]);
    items.forEach(function (it) { body.appendChild(make(it)); });
  }

  /* The picture: IR/ER per side against the 15° line, the asymmetry, PI−LL against 10°. */
  var SVG = "http://www.w3.org/2000/svg";
  function s(tag, attrs, text) {
    var n = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (text !== undefined) { n.textContent = text; }
    return n;
  }
  function fmt(v) { return v === null || v === undefined ? "not recorded" : (Math.round(v * 10) / 10) + "°"; }
  function picture(p) {
    var box = clear($("picture"));
    var w = 420, h = 230, base = 180;
    // The tallest value (or line) fills about 140 px, so small angles stay readable; 65° at most.
    var top = Math.min(65, Math.max.apply(null, [20, p.ir_line, p.pi_ll_line, p.ir.left, p.ir.right,
      p.er.left, p.er.right, p.pi_ll].filter(function (v) { return v !== null && v !== undefined; })));
    var scale = 140 / top;
    var svg = s("svg", { viewBox: "0 0 " + w + " " + h, width: "100%", role: "img",
      "aria-label": "Hip rotation per side against the " + p.ir_line + "° line; PI−LL against the " + p.pi_ll_line + "° line" });
    svg.appendChild(s("title", {}, "Internal rotation left " + fmt(p.ir.left) + ", right " + fmt(p.ir.right) +
      "; external rotation left " + fmt(p.er.left) + ", right " + fmt(p.er.right) + "; PI−LL " + fmt(p.pi_ll)));
    svg.appendChild(s("line", { x1: 20, y1: base, x2: 300, y2: base, cls: "axis", "class": "axis" }));
    function bar(x, v, cls, label) {
      var hgt = v === null ? 0 : Math.max(0, Math.min(v, top)) * scale;
      svg.appendChild(s("rect", { x: x, y: base - hgt, width: 26, height: hgt, "class": cls }));
      svg.appendChild(s("text", { x: x + 13, y: base - hgt - 4, "text-anchor": "middle" }, v === null ? "n/r" : fmt(v)));
      svg.appendChild(s("text", { x: x + 13, y: base + 14, "text-anchor": "middle" }, label));
    }
    bar(40, p.ir.left, "bar-ir", "IR");
    bar(72, p.er.left, "bar-er", "ER");
    bar(160, p.ir.right, "bar-ir", "IR");
    bar(192, p.er.right, "bar-er", "ER");
    svg.appendChild(s("text", { x: 72, y: base + 30, "text-anchor": "middle" }, "left hip"));
    svg.appendChild(s("text", { x: 192, y: base + 30, "text-anchor": "middle" }, "right hip"));
    var y15 = base - p.ir_line * scale;
    svg.appendChild(s("line", { x1: 30, y1: y15, x2: 235, y2: y15, "class": "line" }));
    svg.appendChild(s("text", { x: 238, y: y15 + 4 }, "IR " + p.ir_line + "°"));
    svg.appendChild(s("text", { x: 30, y: 16 }, p.asymmetry === null ? "IR asymmetry: not computed (IR needed on both sides)" :
      "|IR L − IR R| = " + fmt(p.asymmetry) + (p.asymmetry >= p.asymmetry_line ? " ≥ " : " < ") + p.asymmetry_line + "°"));
    // PI−LL on the right, one bar against the 10° line (negative values drawn at zero height)
    var px = 330;
    svg.appendChild(s("line", { x1: px - 10, y1: base, x2: px + 50, y2: base, "class": "axis" }));
    bar(px, p.pi_ll, "bar-pill", "PI−LL");  // a negative value: no bar, its value on the axis
    var y10 = base - p.pi_ll_line * scale;
    svg.appendChild(s("line", { x1: px - 8, y1: y10, x2: px + 40, y2: y10, "class": "line" }));
    svg.appendChild(s("text", { x: px + 42, y: y10 + 4 }, p.pi_ll_line + "°"));
    box.appendChild(svg);
    box.appendChild(el("p", { cls: "legend", text: "n/r: not recorded. Dark bars: internal rotation (IR); light bars: external rotation (ER); " +
      "dashed red lines: restricted IR below " + p.ir_line + "° (RESTRICTED_IR), malalignment above PI−LL " + p.pi_ll_line +
      "° (SPINE_PATH); asymmetry counts from " + p.asymmetry_line + "° (ROT_ASYMMETRY)." }));
  }

  function whatIfForm(editable, fresh) {
    var box = $("whatif");
    var focused = box.contains(document.activeElement) && document.activeElement.dataset ?
      document.activeElement.dataset.key : null;  // keyboard users keep their place
    clear(box);
    editable.forEach(function (e) {
      if (fresh) { recorded[e.key] = e.value; }
      var id = "wi-" + e.key.replace(/[^a-z0-9]+/gi, "-");
      var item = el("div", { cls: "item" + (recorded[e.key] !== e.value ? " changed" : "") });
      var label = e.label + (e.unit ? " (" + e.unit + ")" : "") + (recorded[e.key] === null ? " — not recorded" : "");
      item.appendChild(el("label", { "for": id, text: label }));
      var input;
      if (e.kind === "number") {
        input = el("input", { type: "number", step: "any", id: id });
        input.value = e.value === null ? "" : String(e.value);
      } else {
        input = el("select", { id: id });
        var opts = e.kind === "test" ? [["", "not recorded"], ["positive", "positive"], ["negative", "negative"]]
          : [["", "not recorded"], ["true", "present"], ["false", "absent"]];
        opts.forEach(function (o) { input.appendChild(el("option", { value: o[0], text: o[1] })); });
        input.value = e.value === null ? "" : String(e.value);
      }
      input.dataset.key = e.key;
      input.dataset.kind = e.kind;
      input.addEventListener("change", scheduleWhatIf);
      item.appendChild(input);
      box.appendChild(item);
      if (focused === e.key) { input.focus(); }
    });
  }
  function overrides() {
    var out = {};
    Array.prototype.forEach.call($("whatif").querySelectorAll("[data-key]"), function (input) {
      var key = input.dataset.key, raw = input.value.trim(), value;
      if (raw === "") { value = null; }
      else if (input.dataset.kind === "number") { value = Number(raw); }
      else if (input.dataset.kind === "bool") { value = raw === "true"; }
      else { value = raw; }
      if (value !== recorded[key]) { out[key] = value; }
    });
    return out;
  }
  /* ?set=key:value,key:value opens a what-if directly (a link a colleague can follow). */
  var pendingSet = null;
  function applySet(spec) {
    spec.split(",").forEach(function (pair) {
      var at = pair.lastIndexOf(":");
      if (at < 1) { return; }
      var key = pair.slice(0, at), value = pair.slice(at + 1);
      var input = $("whatif").querySelector('[data-key="' + key.replace(/[^a-z0-9.\-]/gi, "") + '"]');
      if (input) { input.value = value; }
    });
    scheduleWhatIf();
  }
  function scheduleWhatIf() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(function () { evaluate(overrides()); }, 150);
  }

  function render(a, fresh) {
    $("result").hidden = false;
    $("category").textContent = a.category.display;
    $("rule").textContent = "(" + a.category.code + (a.category.subtype ? ", " + a.category.subtype : "") + "; decided by rule " + a.category.rule + ")";
    $("lead").textContent = a.lead || a.summary;
    var ch = clear($("changes"));
    ch.hidden = !a.changes;
    if (a.changes) {
      ch.appendChild(el("strong", { text: "What-if (" + a.overrides.length + " change" + (a.overrides.length === 1 ? "" : "s") + ", not recorded): " }));
      ch.appendChild(el("span", { text: "before: " + a.base.category.display + "." }));
      var ul = ch.appendChild(el("ul", { cls: "plain" }));
      (a.changes.length ? a.changes : ["Nothing changed: no flag, category, plan or side."]).forEach(function (c) { ul.appendChild(el("li", { text: c })); });
    }
    renderCards(a.cards);
    var plan = clear($("plan"));
    if (!a.plan.length) { plan.appendChild(el("li", { cls: "muted", text: "No recommendation." })); }
    a.plan.forEach(function (r) {
      var li = plan.appendChild(el("li"));
      li.appendChild(el("a", { href: r.link, text: r.display }));
      if (r.sides.length) { li.appendChild(el("span", { cls: "sides", text: r.sides.join(" and ") })); }
      li.appendChild(el("div", { text: r.instruction }));
    });
    picture(a.picture);
    outcome(a);
    whatIfForm(a.editable, fresh);
    if (fresh && pendingSet) { applySet(pendingSet); pendingSet = null; }
    rows("flags", a.flags, function (f) {
      return el("tr", {}, [el("td", { cls: "name" }, [el("a", { href: f.link, title: f.meaning }, breakable(f.name))]), triCell(f.value), el("td", { text: f.basis })]);
    });
    rows("rules", a.rules, function (r) {
      var tr = el("tr", { cls: r.fired ? "fired" : "" }, [el("td", { cls: "name" }, [el("a", { href: r.link, text: r.rule })]),
        triCell(r.verdict), el("td", { text: (r.fired ? "Fired. " : "") + r.basis })]);
      return tr;
    });
    rows("trace", a.trace, function (t) {
      return el("tr", {}, [el("td", { cls: "name", text: t.step }), el("td", { text: t.verdict }), el("td", { text: t.basis })]);
    });
    var missing = clear($("missing"));
    if (!a.missing.length) { missing.appendChild(el("li", { cls: "muted", text: "Nothing missing." })); }
    a.missing.forEach(function (m) { missing.appendChild(el("li", { text: m })); });
    var warn = clear($("warnings"));
    var all = a.data_quality.map(function (w) { return "Data quality: " + w; })
      .concat(a.warnings.map(function (w) { return "Excluded or doubtful: " + w; }))
      .concat(a.ignored.map(function (w) { return "Ignored: " + w; }));
    if (!all.length) { warn.appendChild(el("li", { cls: "muted", text: "None (" + a.used_count + " inputs used)." })); }
    all.forEach(function (w) { warn.appendChild(el("li", { text: w })); });
    var ci = clear($("impression"));
    ci.appendChild(el("h3", { text: "ClinicalImpression (" + a.impression.status + ")" }));
    ci.appendChild(el("p", { text: a.impression.description || "" }));
    if (a.impression.summary) { ci.appendChild(el("p", { text: a.impression.summary })); }
    var fl = ci.appendChild(el("ul", { cls: "plain" }));
    a.impression.findings.forEach(function (f) {
      fl.appendChild(el("li", {}, [el("strong", { text: f.display || "" }), f.basis ? ": " + f.basis : ""]));
    });
    var cp = clear($("careplan"));
    if (!a.care_plan) { cp.appendChild(el("h3", { text: "CarePlan" })); cp.appendChild(el("p", { cls: "muted", text: "No CarePlan (no recommendation)." })); }
    else {
      cp.appendChild(el("h3", { text: (a.care_plan.title || "CarePlan") + " (" + a.care_plan.status + ", " + a.care_plan.intent + ")" }));
      cp.appendChild(el("p", { text: a.care_plan.description || "" }));
      var ol = cp.appendChild(el("ol", { cls: "plain" }));
      a.care_plan.activities.forEach(function (act) {
        ol.appendChild(el("li", {}, [el("strong", { text: act.display || "" }), ": " + (act.description || "")]));
      });
      if (a.care_plan.period_end) { cp.appendChild(el("p", { cls: "small", text: "Review by " + a.care_plan.period_end })); }
    }
    $("raw").textContent = JSON.stringify(a.raw, null, 2);
  }

  function problem(resp, body) {
    var issues = body && body.issue ? body.issue.map(function (i) { return i.diagnostics; }).join("; ") : "";
    return "The service answered " + resp.status + (issues ? ": " + issues : "");
  }
  function evaluate(over) {
    if (!bundle) { return; }
    var fresh = !over;
    var mine = ++latest;
    state("busy");
    status(fresh ? "Evaluating…" : "Evaluating the what-if…");
    var payload = fresh ? bundle : { bundle: bundle, overrides: over };
    fetch("/console/evaluate", { method: "POST", headers: authHeaders({ "Content-Type": "application/json", "Accept": "application/json" }),
      body: JSON.stringify(payload), credentials: "same-origin" })
      .then(function (resp) {
        return resp.json().then(function (body) { return { resp: resp, body: body }; },
          function () { return { resp: resp, body: null }; });
      })
      .then(function (r) {
        if (mine !== latest) { return; }  // a later request is out: its answer is shown
        if (!r.resp.ok) { status(problem(r.resp, r.body), true); return; }
        status("");
        render(r.body, fresh);
        state("done");
        if (fresh && $("result").getBoundingClientRect().top > window.innerHeight - 120) {
          $("result").scrollIntoView({ block: "start" });  // a new result below the fold is shown
        }
      })
      .catch(function () { if (mine === latest) { status("The service could not be reached.", true); } });
  }
  /* smart: the API token (production, FHIR_API_CLIENTS) goes with every data request; a page
   * launched from the EHR needs none (its SMART session cookie is HttpOnly, the token stays
   * on the server). */
  function authHeaders(headers) {
    var token = $("api-token") ? $("api-token").value.trim() : "";  // kept in the page only
    if (token) { headers.Authorization = "Bearer " + token; }
    return headers;
  }
  function readPatient() {
    var id = $("patient-id").value.trim();
    if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id)) { status("Enter a FHIR patient id (letters, digits, - and .).", true); return; }
    var headers = authHeaders({ "Content-Type": "application/json", "Accept": "application/json" });
    var mine = ++latest;
    state("busy");
    status("Reading the patient from the FHIR server…");
    fetch("/console/patient", { method: "POST", headers: headers, credentials: "same-origin",
      body: JSON.stringify({ fhirServer: $("fhir-server").value, patientId: id }) })
      .then(function (resp) {
        return resp.json().then(function (body) { return { resp: resp, body: body }; },
          function () { return { resp: resp, body: null }; });
      })
      .then(function (r) {
        if (mine !== latest) { return; }
        if (!r.resp.ok) { status(problem(r.resp, r.body), true); return; }
        bundle = r.body;
        $("bundle-text").value = JSON.stringify(r.body, null, 2);
        evaluate(null);
      })
      .catch(function () { status("The service could not be reached.", true); });
  }
  function useText(text) {
    try { bundle = JSON.parse(text); }
    catch (e) { status("That is not valid JSON: " + e.message, true); return; }
    evaluate(null);
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("example").addEventListener("change", function () {
      var name = this.value;
      if (!name) { return; }
      var mine = ++latest;
      state("busy");
      status("Loading " + name + "…");
      fetch("/console/examples/" + encodeURIComponent(name), { headers: authHeaders({}), credentials: "same-origin" })
        .then(function (resp) { if (!resp.ok) { throw new Error(String(resp.status)); } return resp.text(); })
        .then(function (text) { if (mine === latest) { $("bundle-text").value = text; useText(text); } })
        .catch(function () { if (mine === latest) { status("Could not load the example " + name + ".", true); } });
    });
    $("bundle-file").addEventListener("change", function () {
      var file = this.files && this.files[0];
      if (!file) { return; }
      file.text().then(function (text) { $("bundle-text").value = text; useText(text); });
    });
    $("input-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      useText($("bundle-text").value);
    });
    $("whatif-reset").addEventListener("click", function () { evaluate(null); });
    var read = $("read-patient");
    if (read) { read.addEventListener("click", readPatient); }
    if (document.body.dataset.smartLaunch && read) { readPatient(); }  // smart: launched from the EHR
    var query = new URLSearchParams(window.location.search);
    var wanted = query.get("example");
    pendingSet = query.get("set");
    if (wanted) { $("example").value = wanted; $("example").dispatchEvent(new Event("change")); }
  });
})();
