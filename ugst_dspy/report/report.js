(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("ugst-data").textContent);
  var ROOT = document.getElementById("ugst-app");
  var DATA_KEY = ROOT.getAttribute("data-key") || "";
  var ST = DATA.statuses;
  var ABBR = {ALIGNED: "AL", MISALIGNED: "MI", INCOMPLETE: "IN", ATTEMPTED: "AT", COMPLETE: "CO"};
  var CATS = DATA.categories;
  var CONVS = DATA.conversations;
  var ANNOTATE = !!DATA.annotate;
  var TOP_RANK = {user_profile: 0, user_policy: 1, task_objectives: 2};
  var BEH = DATA.behaviours || null;  // {names, labels} when some conversation was made with behaviours
  var BH_ABBR = {unavailable_service: "svc", digression: "dig", impatience: "imp", incomplete_utterance: "frag"};
  var BH_COLOURS = ["#8250df", "#bf3989", "#0969da", "#9a6700", "#1a7f37", "#cf222e", "#57606a"];
  var view = {filtered: [], page: 0, size: DATA.page_size || 50, open: {}};
  var filters = {cat: "", status: "", diag: "", group: "", end: "", beh: "", ann: "", search: ""};

  // -- small DOM helpers (text only ever goes through textContent / attributes) ---------------------
  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === "class") node.className = v;
        else if (k === "text") node.textContent = String(v);
        else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), v);
        else node.setAttribute(k, v === true ? "" : String(v));
      });
    }
    for (var a = 2; a < arguments.length; a++) add(node, arguments[a]);
    return node;
  }
  function add(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { add(node, c); }); return; }
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  function byId(id) { return document.getElementById(id); }
  function pretty(value) {
    if (value === null || value === undefined) return "null";
    if (typeof value === "string") return value;
    try { return JSON.stringify(value, null, 1); } catch (e) { return String(value); }
  }
  function short(text, n) { text = String(text); return text.length > n ? text.slice(0, n - 1) + "\u2026" : text; }
  function human(name) { return String(name).replace(/_/g, " "); }

  // -- derived facts per conversation ------------------------------------------------------------
  CONVS.forEach(function (c, index) {
    c._index = index;
    c._fin = c.t.length ? c.t[c.t.length - 1].s : c.s0;
    var ok = 0, total = 0;
    if (c._fin) {
      c._fin.forEach(function (code, i) {
        if (code < 0) return;
        total += 1;
        if (CATS[c.items[i][1]].success.indexOf(code) >= 0) ok += 1;
      });
    }
    c._ok = ok; c._total = total;
    c._bl = c.bl || "none";
    c._bn = c.bn || [];
  });

  // -- behaviours (non-collaborative users) ------------------------------------------------------
  function shownText(shown) { return shown === true ? "shown" : (shown === false ? "not shown" : "not checked"); }
  function bhBadge(name, shown, declined, compact) {
    var index = BEH ? BEH.names.indexOf(name) : -1;
    var title = human(name) + ": " + shownText(shown);
    if (name === "unavailable_service" && declined === true) title += " \u00b7 the agent declined";
    if (name === "unavailable_service" && declined === false) title += " \u00b7 the agent did not decline";
    return el("span", {"class": "bh " + (shown === true ? "on" : (shown === false ? "off" : "na")) + (compact ? " mini" : ""),
      "data-behaviour": name, "data-shown": shownText(shown), title: title,
      style: "--bh: " + BH_COLOURS[(index < 0 ? BH_COLOURS.length - 1 : index) % BH_COLOURS.length],
      text: compact ? (BH_ABBR[name] || short(name, 4)) : human(name)});
  }
  function turnBadges(t, compact) {
    return (t.bh || []).map(function (b) { return bhBadge(b[0], b[1], t.dec, compact); });
  }
  function behaviourSummary(c) {
    var acted = {}, shown = {};
    c.t.forEach(function (t) {
      (t.bh || []).forEach(function (b) {
        acted[b[0]] = (acted[b[0]] || 0) + 1;
        if (b[1] === true) shown[b[0]] = (shown[b[0]] || 0) + 1;
      });
    });
    return c._bn.concat(Object.keys(acted).filter(function (n) { return c._bn.indexOf(n) < 0; })).map(function (n) {
      return el("span", {"class": "badge bhsum", "data-behaviour": n, title: "user messages it acted on that show it (rule check)",
        text: human(n) + ": shown " + (shown[n] || 0) + "/" + (acted[n] || 0)});
    });
  }

  function decode(c) {
    if (c._dec) return c._dec;
    var n = c.items.length, known = [], states = [c.s0], reasons = [];
    for (var i = 0; i < n; i++) known.push(null);
    c.t.forEach(function (t) { states.push(t.s); });
    states.forEach(function (codes, k) {
      var changed = k === 0 ? c.r0 : c.t[k - 1].r;
      if (codes) {
        known = known.slice();
        if (changed) Object.keys(changed).forEach(function (row) { known[+row] = changed[row]; });
      }
      reasons.push(codes ? known : null);
    });
    var prev = [], last = null;
    states.forEach(function (codes) { prev.push(last); if (codes) last = codes; });
    c._dec = {states: states, reasons: reasons, prev: prev};
    return c._dec;
  }

  // -- annotation (kept in the browser, exported as conversation records) ------------------------
  var ANN = {};
  var STORE = "ugst-annotations:" + DATA_KEY;
  if (ANNOTATE) {
    try { ANN = JSON.parse(window.localStorage.getItem(STORE) || "{}") || {}; } catch (e) { ANN = {}; }
  }
  function saveAnn() {
    try { window.localStorage.setItem(STORE, JSON.stringify(ANN)); } catch (e) { /* storage unavailable */ }
    updateAnnBar();
  }
  function annOf(c) { return ANN[c.k] || (ANN[c.k] = {rev: false, s: {}}); }
  function isReviewed(c) { return !!(ANN[c.k] && ANN[c.k].rev); }
  function humanCode(c, k, i) {
    var a = ANN[c.k], key = k + "," + i;
    if (a && a.s && Object.prototype.hasOwnProperty.call(a.s, key)) return a.s[key];
    return decode(c).states[k][i];
  }
  function parseAddress(text) {
    var m = /^(user_profile|user_policy|task_objectives)\[(\d+)\](?:\.(requirements|preferences)\[(\d+)\])?$/.exec(text);
    if (!m) return null;
    return {top: m[1], i: +m[2], sub: m[3] || null, j: m[4] === undefined ? -1 : +m[4]};
  }
  function buildState(c, codes) {
    var addr = c._addr || (c._addr = c.items.map(function (it) { return parseAddress(it[0]); }));
    var present = [];
    codes.forEach(function (code, i) { if (code >= 0 && addr[i]) present.push(i); });
    function rank(a) { return a.sub === null ? 0 : (a.sub === "requirements" ? 1 : 2); }
    present.sort(function (x, y) {
      var a = addr[x], b = addr[y];
      return (TOP_RANK[a.top] - TOP_RANK[b.top]) || (a.i - b.i) || (rank(a) - rank(b)) || (a.j - b.j);
    });
    var state = {user_profile: [], user_policy: [], task_objectives: []}, objectives = {};
    present.forEach(function (i) {
      var a = addr[i], item = {text: c.items[i][2], status: ST[codes[i]], reason: null};
      if (a.top !== "task_objectives") state[a.top].push(item);
      else if (a.sub === null) {
        item.requirements = []; item.preferences = [];
        objectives[a.i] = item; state.task_objectives.push(item);
      } else if (objectives[a.i]) objectives[a.i][a.sub].push(item);
    });
    return state;
  }
  function annotatedRecord(c) {
    var d = decode(c);
    var turns = c.t.map(function (t, n) {
      var k = n + 1, codes = null;
      if (d.states[k]) codes = d.states[k].map(function (code, i) { return code < 0 ? code : humanCode(c, k, i); });
      return {user: t.u, agent: t.a, tool_calls: t.tc, state: codes ? buildState(c, codes) : null};
    });
    var meta = {annotator: "human", annotated_at: new Date().toISOString(), rules: DATA.rules};
    if (c.meta && typeof c.meta.file === "string") meta.annotation_of = c.meta.file;
    if (DATA.title) meta.report = DATA.title;
    return {id: c.k, goal_id: c.g, instruction: c.ins, initial_state: c.s0 ? buildState(c, c.s0) : null,
            turns: turns, ended_by: c.end, meta: meta};
  }
  function exportAnnotations() {
    return CONVS.filter(isReviewed).map(function (c) { return JSON.stringify(annotatedRecord(c)) + "\n"; }).join("");
  }
  function download() {
    var text = exportAnnotations();
    var blob = new Blob([text], {type: "application/x-ndjson"});
    var link = el("a", {href: URL.createObjectURL(blob), download: "annotations.jsonl"});
    document.body.appendChild(link);
    link.click();
    setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
  }
  function updateAnnBar() {
    var count = byId("ann-count");
    if (!count) return;
    var n = CONVS.filter(isReviewed).length;
    count.textContent = n + " of " + CONVS.length + " conversations annotated";
    byId("ann-export").disabled = n === 0;
  }

  // -- filters ---------------------------------------------------------------------------------
  function statusMatches(cat, code) {
    var f = filters.status;
    if (f === "") return true;
    if (f === "success") return CATS[cat].success.indexOf(code) >= 0;
    if (f === "failure") return CATS[cat].success.indexOf(code) < 0;
    return ST[code] === f;
  }
  function matches(c) {
    if (filters.group !== "" && c.grp !== +filters.group) return false;
    if (filters.end !== "" && c.end !== filters.end) return false;
    if (filters.beh !== "") {
      var kind = filters.beh.slice(0, 2), wanted = filters.beh.slice(2);
      if (kind === "n:" && c._bn.indexOf(wanted) < 0) return false;
      if (kind === "l:" && c._bl !== wanted) return false;
    }
    if (filters.diag === "__some" && !c.dx.length) return false;
    if (filters.diag === "__none" && c.dx.length) return false;
    if (filters.diag && filters.diag.charAt(0) !== "_" && c.dx.indexOf(filters.diag) < 0) return false;
    if (filters.ann === "yes" && !isReviewed(c)) return false;
    if (filters.ann === "no" && isReviewed(c)) return false;
    if (filters.cat !== "" || filters.status !== "") {
      var codes = filters.status === "" ? null : c._fin, hit = false;
      if (filters.status !== "" && !codes) return false;
      for (var i = 0; i < c.items.length && !hit; i++) {
        var cat = c.items[i][1];
        if (filters.cat !== "" && cat !== +filters.cat) continue;
        if (codes === null) { hit = true; break; }
        if (codes[i] >= 0 && statusMatches(cat, codes[i])) hit = true;
      }
      if (!hit) return false;
    }
    if (filters.search) {
      var hay = (c.k + " " + c.g).toLowerCase();
      if (hay.indexOf(filters.search) < 0) return false;
    }
    return true;
  }
  function option(value, label) { return el("option", {value: value, text: label}); }
  function countBy(fn) {
    var out = {};
    CONVS.forEach(function (c) { [].concat(fn(c)).forEach(function (v) { out[v] = (out[v] || 0) + 1; }); });
    return out;
  }
  function buildFilters() {
    var bar = byId("filters");
    var perGroup = countBy(function (c) { return c.grp; });
    var perDx = countBy(function (c) { return c.dx; });
    var perEnd = countBy(function (c) { return c.end; });
    var withDx = CONVS.filter(function (c) { return c.dx.length; }).length;
    function select(id, label, key, options) {
      var s = el("select", {id: id, "data-filter": key}, options);
      s.addEventListener("change", function () { filters[key] = s.value; applyFilters(); });
      bar.appendChild(el("label", null, label, s));
    }
    select("f-category", "category", "cat", [option("", "any category")].concat(
      CATS.map(function (cat, i) { return option(String(i), cat.label + " " + cat.name); })));
    select("f-status", "final status", "status", [option("", "any status"), option("success", "successful"),
      option("failure", "not successful")].concat(ST.map(function (s) { return option(s, s); })));
    select("f-diagnostic", "diagnostic", "diag", [option("", "any"), option("__some", "any failure (" + withDx + ")"),
      option("__none", "no failure (" + (CONVS.length - withDx) + ")")].concat(
      DATA.diagnostics.map(function (d) { return option(d, human(d) + " (" + (perDx[d] || 0) + ")"); })));
    select("f-group", DATA.group_by ? "group (" + DATA.group_by + ")" : "group", "group",
      [option("", "all groups")].concat(DATA.groups.map(function (g, i) {
        return option(String(i), short(g, 60) + " (" + (perGroup[i] || 0) + ")"); })));
    select("f-ended", "ended by", "end", [option("", "any")].concat(Object.keys(perEnd).sort().map(function (e) {
      return option(e, human(e) + " (" + perEnd[e] + ")"); })));
    if (BEH) {
      var perName = countBy(function (c) { return c._bn; }), perLabel = countBy(function (c) { return c._bl; });
      var runs = BEH.labels.filter(function (l) { return l !== "none"; });
      select("f-behaviour", "behaviour", "beh", [option("", "any")].concat(
        BEH.names.map(function (n) { return option("n:" + n, human(n) + " (" + (perName[n] || 0) + ")"); }),
        [option("l:none", "none (" + (perLabel.none || 0) + ")")],
        runs.length ? [el("optgroup", {label: "exactly these behaviours"}, runs.map(function (l) {
          return option("l:" + l, short(l, 60) + " (" + (perLabel[l] || 0) + ")"); }))] : []));
    }
    if (ANNOTATE) select("f-annotated", "annotation", "ann", [option("", "any"), option("yes", "annotated"),
      option("no", "not annotated")]);
    var search = el("input", {id: "f-search", type: "search", placeholder: "id or goal id", size: 18});
    search.addEventListener("input", function () { filters.search = search.value.trim().toLowerCase(); applyFilters(); });
    bar.appendChild(el("label", null, "search", search));
    var reset = el("button", {id: "f-reset", type: "button", text: "reset"});
    reset.addEventListener("click", function () {
      Object.keys(filters).forEach(function (k) { filters[k] = ""; });
      bar.querySelectorAll("select").forEach(function (s) { s.value = ""; });
      search.value = "";
      applyFilters();
    });
    bar.appendChild(reset);
    bar.appendChild(el("span", {id: "count", "class": "count"}));
  }
  function applyFilters() {
    view.filtered = CONVS.filter(matches);
    view.page = 0;
    renderList();
  }

  // -- the list (one page at a time) -------------------------------------------------------------
  function strip(c) {
    var box = el("span", {"class": "strip"});
    if (!c._fin) return el("span", {"class": "badge", text: "untracked"});
    c._fin.forEach(function (code, i) {
      if (code < 0) return;
      var cat = CATS[c.items[i][1]];
      box.appendChild(el("i", {"class": "s-" + ST[code], title: cat.label + " " + ST[code] + ": " + c.items[i][2]}));
    });
    return box;
  }
  function listRow(c) {
    var open = !!view.open[c.k];
    var dx = c.dx.map(function (d) { return el("span", {"class": "badge dx", text: human(d)}); });
    if (ANNOTATE && isReviewed(c)) dx.push(el("span", {"class": "badge ann", text: "annotated"}));
    var row = el("tr", {"class": "conv" + (open ? " open" : ""), "data-key": c.k, tabindex: 0},
      el("td", null, el("span", {"class": "tw", text: open ? "\u25be" : "\u25b8"})),
      el("td", {"class": "key", title: c.g}, c.k),
      el("td", null, short(DATA.groups[c.grp], 40)),
      BEH ? el("td", {"class": "beh", title: c._bl}, short(c._bl, 40)) : null,
      el("td", null, el("span", {"class": "badge end", text: human(c.end)})),
      el("td", null, String(c.t.length)),
      el("td", null, strip(c)),
      el("td", null, c._total ? c._ok + "/" + c._total : "\u2013"),
      el("td", null, dx));
    row.addEventListener("click", function () { toggle(c, row); });
    row.addEventListener("keydown", function (ev) { if (ev.key === "Enter") toggle(c, row); });
    return row;
  }
  function detailRow(c) {
    return el("tr", {"class": "detail-row", "data-key": c.k}, el("td", {"class": "detail-cell", colspan: BEH ? 9 : 8}, renderDetail(c)));
  }
  function toggle(c, row) {
    if (view.open[c.k]) {
      delete view.open[c.k];
      var next = row.nextSibling;
      if (next && next.classList.contains("detail-row")) next.remove();
      row.classList.remove("open");
      row.querySelector(".tw").textContent = "\u25b8";
    } else {
      view.open[c.k] = true;
      row.after(detailRow(c));
      row.classList.add("open");
      row.querySelector(".tw").textContent = "\u25be";
    }
  }
  function renderList() {
    var body = byId("list-body");
    var total = view.filtered.length, pages = Math.max(1, Math.ceil(total / view.size));
    view.page = Math.min(view.page, pages - 1);
    var start = view.page * view.size, end = Math.min(total, start + view.size);
    var rows = [];
    for (var n = start; n < end; n++) {
      var c = view.filtered[n];
      rows.push(listRow(c));
      if (view.open[c.k]) rows.push(detailRow(c));
    }
    body.replaceChildren.apply(body, rows);
    byId("list-empty").hidden = total > 0;
    byId("count").textContent = total + " of " + CONVS.length + " conversations" +
      (total ? " \u00b7 showing " + (start + 1) + "\u2013" + end : "");
    byId("page-info").textContent = "page " + (view.page + 1) + " of " + pages;
    byId("page-prev").disabled = view.page === 0;
    byId("page-next").disabled = view.page >= pages - 1;
  }

  // -- one conversation, built when expanded -----------------------------------------------------
  function kv(rows) {
    return el("table", {"class": "kv"}, rows.map(function (r) { return el("tr", null, el("th", null, r[0]), el("td", null, r[1])); }));
  }
  function metaRows(c) {
    var rows = [["conversation", c.k], ["goal", c.g], ["group", DATA.groups[c.grp]], ["ended by", human(c.end)]];
    Object.keys(c.meta || {}).forEach(function (key) {
      var value = c.meta[key];
      if (key === "models" && value && typeof value === "object") {
        value = Object.keys(value).map(function (role) { return role + ": " + pretty(value[role]); }).join(", ");
      }
      var text = typeof value === "string" ? value : JSON.stringify(value);
      rows.push([human(key), short(text, 400)]);
    });
    return rows;
  }
  function usageTable(c) {
    var roles = Object.keys(c.use || {});
    if (!roles.length) return el("p", {"class": "sub", text: "no LM usage recorded"});
    function cell(v) { return v === null || v === undefined ? "unknown" : String(v); }
    return el("table", {"class": "usage"},
      el("tr", null, el("th", null, "role"), el("th", null, "calls"), el("th", null, "prompt tok."),
        el("th", null, "completion tok."), el("th", null, "seconds")),
      roles.map(function (role) {
        var u = c.use[role] || {};
        return el("tr", null, el("td", null, role), el("td", null, cell(u.calls)), el("td", null, cell(u.prompt_tokens)),
          el("td", null, cell(u.completion_tokens)), el("td", null, cell(u.seconds)));
      }));
  }
  function chipTitle(c, d, k, i) {
    var code = d.states[k][i], prev = d.prev[k], reason = d.reasons[k][i];
    var head = (k === 0 ? "S0" : "turn " + k) + " \u00b7 " + ST[code];
    if (prev && prev[i] !== code) head += " (was " + (prev[i] >= 0 ? ST[prev[i]] : "absent") + ")";
    return head + "\n" + c.items[i][2] + "\nreason: " + (reason || "none recorded");
  }
  function timeline(c, d, panel, transcript) {
    var head = el("tr", null, el("th", {"class": "lab", text: "sub-component"}));
    d.states.forEach(function (codes, k) {
      var th = el("th", {"class": "col", "data-turn": k, text: k === 0 ? "S0" : "T" + k});
      var ill = k > 0 ? c.t[k - 1].ill : null;
      if (ill && ill.length) {
        th.classList.add("bad");
        th.setAttribute("title", "refused judge outputs:\n" + ill.map(function (u) {
          return u.address + " \u2192 " + u.status + ": " + u.why; }).join("\n"));
      } else th.setAttribute("title", k === 0 ? "initial state (decomposition)" : "state after turn " + k + (codes ? "" : " (not tracked)"));
      head.appendChild(th);
    });
    var rows = [head];
    if (c.bl !== undefined) {
      var bhs = el("tr", {"class": "bhrow"}, el("th", {"class": "lab", text: "behaviours",
        title: "the behaviours that acted on each user message: filled where the rule check finds it shown"}));
      d.states.forEach(function (codes, k) {
        bhs.appendChild(el("td", {"class": "bhs", "data-turn": k}, k > 0 ? turnBadges(c.t[k - 1], true) : null));
      });
      rows.push(bhs);
    }
    var body = c.items.map(function (item, i) {
      var cat = CATS[item[1]];
      var dim = filters.cat !== "" && item[1] !== +filters.cat;
      var tr = el("tr", {"class": (item[0].indexOf(".") >= 0 ? "child" : "") + (dim ? " dim" : ""), "data-row": i},
        el("th", {"class": "lab", title: item[0] + "\n" + item[2]}, el("span", {"class": "cat", text: cat.label}), item[2]));
      d.states.forEach(function (codes, k) {
        var td = el("td");
        if (!codes || codes[i] < 0) {
          td.appendChild(el("span", {"class": "chip none", title: codes ? "not in this state" : "not tracked", text: "\u00b7"}));
        } else if (ANNOTATE && k > 0) {
          td.appendChild(annotationSelect(c, d, k, i));
        } else {
          var changed = k > 0 && d.prev[k] && d.prev[k][i] !== codes[i];
          td.appendChild(el("span", {"class": "chip s-" + ST[codes[i]] + (changed ? " chg" : (k === 0 ? " start" : "")),
            "data-turn": k, "data-row": i, title: chipTitle(c, d, k, i), tabindex: 0, text: ABBR[ST[codes[i]]] || "?"}));
        }
        tr.appendChild(td);
      });
      return tr;
    });
    var table = el("table", {"class": "tl"}, el("thead", null, rows), el("tbody", null, body));
    function select(target) {
      var k = +target.getAttribute("data-turn"), i = +target.getAttribute("data-row");
      table.querySelectorAll(".chip.sel").forEach(function (n) { n.classList.remove("sel"); });
      target.classList.add("sel");
      showPanel(c, d, k, i, panel);
      highlightTurn(table, transcript, k);
    }
    table.addEventListener("click", function (ev) {
      var chip = ev.target.closest(".chip[data-turn]");
      if (chip && !ANNOTATE) return select(chip);
      var col = ev.target.closest("th.col, td.bhs");
      if (col) highlightTurn(table, transcript, +col.getAttribute("data-turn"));
    });
    table.addEventListener("focusin", function (ev) {
      var chip = ev.target.closest(".chip[data-turn]");
      if (chip) select(chip);
    });
    table.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && ev.target.classList.contains("chip")) select(ev.target);
    });
    return table;
  }
  function annotationSelect(c, d, k, i) {
    var cat = CATS[c.items[i][1]], tracker = d.states[k][i];
    var s = el("select", {"class": "chip", "data-turn": k, "data-row": i, title: chipTitle(c, d, k, i),
      "aria-label": "status at turn " + k + ": " + c.items[i][2]},
      cat.statuses.map(function (code) {
        return el("option", {value: code, title: ST[code], text: ABBR[ST[code]] || ST[code]});
      }));
    function paint() {
      var code = +s.value;
      s.className = "chip s-" + ST[code] + (code !== tracker ? " human" : "");
    }
    s.value = String(humanCode(c, k, i));
    paint();
    s.addEventListener("change", function () {
      var a = annOf(c), code = +s.value, key = k + "," + i;
      if (code === tracker) delete a.s[key]; else a.s[key] = code;
      a.rev = true;
      var box = s.closest(".detail").querySelector("input.reviewed");
      if (box) box.checked = true;
      paint();
      saveAnn();
    });
    return s;
  }
  function showPanel(c, d, k, i, panel) {
    var code = d.states[k][i], prev = d.prev[k], reason = d.reasons[k][i], cat = CATS[c.items[i][1]];
    var change = prev && prev[i] !== code
      ? (prev[i] >= 0 ? ST[prev[i]] : "absent") + " \u2192 " + ST[code]
      : ST[code] + (k === 0 ? " (initial)" : " (unchanged)");
    var parts = [
      el("div", {"class": "ptitle", text: (k === 0 ? "S0" : "Turn " + k) + " \u00b7 " + cat.name + " \u00b7 " + c.items[i][0]}),
      el("div", null, c.items[i][2]),
      el("div", null, el("b", null, "tracker: "), change)
    ];
    if (ANNOTATE && k > 0) parts.push(el("div", null, el("b", null, "annotation: "), ST[humanCode(c, k, i)]));
    parts.push(el("div", {"class": "reason", text: reason ? "reason: " + reason : "no reason recorded"}));
    if (k > 0) parts.push(el("div", {"class": "sub"}, el("b", null, "user: "), short(c.t[k - 1].u, 300)));
    panel.replaceChildren.apply(panel, parts);
  }
  function highlightTurn(table, transcript, k) {
    table.querySelectorAll("th.col.hl").forEach(function (n) { n.classList.remove("hl"); });
    var th = table.querySelector('th.col[data-turn="' + k + '"]');
    if (th) th.classList.add("hl");
    transcript.querySelectorAll(".turn.hl").forEach(function (n) { n.classList.remove("hl"); });
    var turn = transcript.querySelector('.turn[data-turn="' + k + '"]');
    if (turn) {
      turn.classList.add("hl");
      transcript.scrollTop = turn.offsetTop - transcript.offsetTop - 4;
    }
  }
  function changesOf(c, d, k) {
    var codes = d.states[k], prev = d.prev[k];
    if (!codes || !prev) return null;
    var items = [];
    codes.forEach(function (code, i) {
      if (code < 0 || prev[i] === code) return;
      var reason = d.reasons[k][i];
      items.push(el("li", null, el("span", {"class": "chip chg s-" + ST[code], text: ABBR[ST[code]]}), " ",
        CATS[c.items[i][1]].label + " " + short(c.items[i][2], 70) + ": " + (prev[i] >= 0 ? ST[prev[i]] : "absent") +
        " \u2192 " + ST[code] + (reason ? " \u2014 " + reason : "")));
    });
    return items.length ? el("ul", {"class": "changes"}, items) : null;
  }
  function toolCall(call) {
    var args = typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments);
    return el("div", {"class": "tc"}, el("span", {"class": "tname", text: call.name}), "(" + short(args, 300) + ")",
      el("pre", {text: "\u2192 " + pretty(call.result)}));
  }
  function transcriptOf(c, d) {
    var box = el("div", {"class": "transcript"});
    if (!c.t.length) box.appendChild(el("p", {"class": "sub", text: "no turns"}));
    c.t.forEach(function (t, n) {
      var k = n + 1;
      var turn = el("div", {"class": "turn", "data-turn": k},
        el("h4", null, "Turn " + k + (t.s ? "" : " (not tracked)"), t.bh && t.bh.length ? " " : null, turnBadges(t, false)),
        el("div", {"class": "msg user"}, el("span", {"class": "who", text: "USER"}), t.u),
        t.why ? el("div", {"class": "msg why"}, el("span", {"class": "who", text: "simulator reasoning"}), t.why) : null,
        t.tc.length ? el("details", {"class": "tools"}, el("summary", {text: t.tc.length + " tool call" + (t.tc.length > 1 ? "s" : "")}),
          t.tc.map(toolCall)) : null,
        el("div", {"class": "msg agent"}, el("span", {"class": "who", text: "AGENT"}), t.a || "(no reply)"),
        changesOf(c, d, k),
        t.ill && t.ill.length ? el("div", {"class": "ill", text: t.ill.length + " judge output(s) refused by the rules: " +
          t.ill.map(function (u) { return u.address + " \u2192 " + u.status + " (" + u.why + ")"; }).join("; ")}) : null);
      box.appendChild(turn);
    });
    return box;
  }
  function renderDetail(c) {
    var d = decode(c);
    var head = [el("span", {"class": "badge end", text: "ended by " + human(c.end)})];
    c.dx.forEach(function (x) { head.push(el("span", {"class": "badge dx", text: human(x)})); });
    if (!c.dx.length) head.push(el("span", {"class": "badge", text: "no failure diagnosed"}));
    head.push(el("span", {"class": "badge", text: c._total ? c._ok + "/" + c._total + " sub-components successful" : "untracked"}));
    if (c.bl !== undefined) {
      head.push(el("span", {"class": "badge bhlabel", title: "the behaviours this run asked for", text: "behaviour: " + c.bl}));
      head = head.concat(behaviourSummary(c));
    }
    var detail = el("div", {"class": "detail", "data-key": c.k});
    if (ANNOTATE) {
      var box = el("input", {type: "checkbox", "class": "reviewed"});
      box.checked = isReviewed(c);
      box.addEventListener("change", function () { annOf(c).rev = box.checked; saveAnn(); });
      head.push(el("label", {"class": "badge ann"}, box, " annotated (include in export)"));
    }
    detail.appendChild(el("div", {"class": "heads"}, head));
    detail.appendChild(el("div", {"class": "ins"}, el("b", null, "Goal: "), c.ins));
    detail.appendChild(el("div", {"class": "heads"}, kv(metaRows(c)), el("div", null, el("h3", {text: "LM usage per role"}), usageTable(c))));
    var panel = el("div", {"class": "panel"}, el("span", {"class": "ph", text: ANNOTATE
      ? "Set the status of each sub-component after each turn; focus a cell to see the tracker's status and reason."
      : "Click a chip to see the judge's reason."}));
    var transcript = transcriptOf(c, d);
    var left = el("div", null, el("div", {"class": "tl-wrap"}, timeline(c, d, panel, transcript)), panel);
    detail.appendChild(el("div", {"class": "panes"}, left, transcript));
    return detail;
  }

  // -- start -------------------------------------------------------------------------------------
  function start() {
    buildFilters();
    byId("page-prev").addEventListener("click", function () { view.page -= 1; renderList(); });
    byId("page-next").addEventListener("click", function () { view.page += 1; renderList(); });
    var size = byId("page-size");
    size.addEventListener("change", function () { view.size = +size.value; view.page = 0; renderList(); });
    if (ANNOTATE) {
      byId("ann-export").addEventListener("click", download);
      byId("ann-clear").addEventListener("click", function () {
        if (window.confirm("Forget every annotation made in this report?")) { ANN = {}; saveAnn(); renderList(); }
      });
      updateAnnBar();
    }
    applyFilters();
    document.documentElement.setAttribute("data-ready", "1");
  }
  window.ugstReport = {
    data: DATA,
    visibleKeys: function () {
      return Array.prototype.map.call(document.querySelectorAll("#list-body tr.conv"), function (r) { return r.getAttribute("data-key"); });
    },
    matchingKeys: function () { return view.filtered.map(function (c) { return c.k; }); },
    exportAnnotations: exportAnnotations
  };
  start();
})();
