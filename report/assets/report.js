/* govcloud report: the interactive parts (language, network drawing, reachability matrix and
   search). Vanilla JS over the JSON island #report-data; no request ever leaves the page. */
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("report-data").textContent);
  const S = D.strings, ATTS = D.atts, REACH = D.reach;
  const SOURCE_KINDS = { tenant: 1, site: 1, external: 1 };
  const PAGE = 100;
  const $ = (id) => document.getElementById(id);
  const lang = () => document.documentElement.lang === "en" ? "en" : "ja";
  function T(key, fields) {
    const entry = D.labels[key];
    let text = entry ? entry[lang()] : key;
    for (const k in (fields || {})) text = text.split("{" + k + "}").join(String(fields[k]));
    return text;
  }
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const k in (attrs || {})) node.setAttribute(k, attrs[k]);
    for (const c of [].concat(children || [])) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }
  const zoneLabel = (z) => D.labels["zone." + z] ? T("zone." + z) : z;
  const attName = (i) => (i >= 0 && i < ATTS.length ? ATTS[i][0] : "?");
  const attZone = (i) => (i >= 0 && i < ATTS.length ? ATTS[i][2] : "");

  function pathOf(e) {
    const middle = D.routes[e[5]].map((i) => S[i]);
    if (e[6] < 0) return middle;
    return [attName(e[0]) + " (source)"].concat(middle, [S[e[6]], "tenant " + attName(e[1])]);
  }
  function entryNode(e) {
    const declared = e[4] >= 0 ? T("reach.declared", { reason: S[e[4]] }) : T("reach.undeclared");
    const box = el("details", { class: "entry" + (e[4] >= 0 ? "" : " undeclared") }, [
      el("summary", {}, `${attName(e[0])} → ${attName(e[1])} ${e[2]}/${e[3]} — ${declared}`),
      el("ol", { class: "path" }, pathOf(e).map((hop) => el("li", {}, hop))),
    ]);
    return box;
  }
  function listInto(container, entries, heading) {
    container.replaceChildren(el("h3", { tabindex: "-1" }, heading));
    const list = el("div", { class: "entries" });
    const more = el("button", { type: "button", class: "more" }, T("reach.more"));
    let shown = 0, current = entries;
    function page() {
      for (const e of current.slice(shown, shown + PAGE)) list.append(entryNode(e));
      shown = Math.min(current.length, shown + PAGE);
      more.hidden = shown >= current.length;
    }
    if (entries.length > PAGE) {
      // Tens of thousands of entries in one cell (the whole country): narrow them by name.
      const filter = el("input", { type: "search", class: "entry-filter", "aria-label": T("reach.filter"), placeholder: T("reach.filter") });
      filter.addEventListener("input", () => {
        const q = filter.value.trim().toLowerCase();
        current = q ? entries.filter((e) => (attName(e[0]) + " " + attName(e[1])).toLowerCase().includes(q)) : entries;
        list.replaceChildren();
        shown = 0;
        page();
      });
      container.append(el("label", {}, [filter]));
    }
    container.append(list, more);
    more.addEventListener("click", page);
    page();
  }

  /* ---------------- language ---------------- */
  const rerender = [];
  $("lang-switch").addEventListener("click", () => {
    document.documentElement.lang = lang() === "ja" ? "en" : "ja";
    for (const f of rerender) f();
  });

  /* ---------------- reachability matrix ---------------- */
  let openCell = null;
  function showCell(src, dst) {
    openCell = [src, dst];
    for (const b of document.querySelectorAll("#matrix button.cell"))
      b.setAttribute("aria-pressed", b.dataset.src === src && b.dataset.dst === dst ? "true" : "false");
    const entries = REACH.filter((e) => attZone(e[0]) === src && attZone(e[1]) === dst);
    listInto($("cell-entries"), entries, T("reach.cell", { src: zoneLabel(src), dst: zoneLabel(dst), n: entries.length }));
  }
  for (const b of document.querySelectorAll("#matrix button.cell")) {
    b.setAttribute("aria-pressed", "false");
    b.addEventListener("click", () => showCell(b.dataset.src, b.dataset.dst));
  }
  rerender.push(() => { if (openCell) showCell(openCell[0], openCell[1]); });

  /* ---------------- can A reach B ---------------- */
  const attList = $("att-names"), tenantList = $("tenant-names");
  for (const a of ATTS) {
    if (!SOURCE_KINDS[a[1]]) continue;
    attList.append(el("option", { value: a[0] }));
    if (a[1] === "tenant") tenantList.append(el("option", { value: a[0] }));
  }
  function resolve(query, onlyTenants) {
    const q = query.trim().toLowerCase();
    if (!q) return [];
    const ok = (a) => SOURCE_KINDS[a[1]] && (!onlyTenants || a[1] === "tenant");
    const exact = [];
    ATTS.forEach((a, i) => { if (ok(a) && a[0].toLowerCase() === q) exact.push(i); });
    if (exact.length) return exact;
    const found = [];
    ATTS.forEach((a, i) => {
      if (!ok(a)) return;
      const names = a[5].split(" ").map((c) => (D.munis[c] || [""])[0]).join(" ");
      if (a[0].toLowerCase().includes(q) || a[5].split(" ").includes(q) || (q.length > 1 && names.includes(q))) found.push(i);
    });
    return found;
  }
  let lastQuery = null;
  function answer(fromText, toText) {
    lastQuery = [fromText, toText];
    const box = $("reach-answer");
    const from = resolve(fromText, false), to = resolve(toText, true);
    if (!from.length) return box.replaceChildren(el("p", { class: "bad" }, T("reach.unknown", { a: fromText })));
    if (!to.length) return box.replaceChildren(el("p", { class: "bad" }, T("reach.unknown", { a: toText })));
    const fs = new Set(from), ts = new Set(to);
    const hits = REACH.filter((e) => fs.has(e[0]) && ts.has(e[1]));
    const scope = T("reach.matches", { a: from.length, b: to.length });
    if (!hits.length) {
      box.replaceChildren(el("p", { class: "ok", id: "reach-verdict" },
        T("reach.no", { a: from.length === 1 ? attName(from[0]) : fromText, b: to.length === 1 ? attName(to[0]) : toText }) + " — " + scope));
      return;
    }
    listInto(box, hits, T("reach.yes", { n: hits.length }) + " — " + scope);
    box.firstChild.id = "reach-verdict";
  }
  $("reach-search").addEventListener("submit", (ev) => { ev.preventDefault(); answer($("reach-from").value, $("reach-to").value); });
  rerender.push(() => { if (lastQuery) answer(lastQuery[0], lastQuery[1]); });

  /* ---------------- network drawing ---------------- */
  const NS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, text) {
    const node = document.createElementNS(NS, tag);
    for (const k in (attrs || {})) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  const MAX_ROWS = 40, INDIVIDUAL = 80, ROW = 18, HEAD = 40, BOX_W = 380, HUB_W = 230;
  let scale = 1;
  const zoneClass = (z) => (["mynumber", "lgwan", "internet"].includes(z) ? "z-" + z : "z-other");
  function groupKey(a, mode) {
    const codes = a[5] ? a[5].split(" ") : [];
    const kind = T("att." + a[1]);
    if (mode === "prefecture") {
      const prefs = [...new Set(codes.map((c) => (D.munis[c] || ["", "?"])[1]))];
      return (prefs.length > 1 ? prefs.length + " prefectures" : prefs[0] || "—") + " · " + kind;
    }
    if (mode === "municipality") {
      if (codes.length !== 1) return (codes.length ? codes.length + " municipalities" : "—") + " · " + kind;
      return codes[0] + " " + (D.munis[codes[0]] || [""])[0] + " · " + kind;
    }
    if (mode === "vendor") return (a[6] || "—") + " · " + kind;
    return kind + " · " + zoneLabel(a[2]);
  }
  function matches(a, q) {
    if (!q) return true;
    if (a[0].toLowerCase().includes(q)) return true;
    const codes = a[5] ? a[5].split(" ") : [];
    return codes.some((c) => c === q || c.startsWith(q) || ((D.munis[c] || [""])[0] || "").includes(q) ||
                              (q.length > 1 && ((D.munis[c] || ["", ""])[1] || "").includes(q)));
  }
  function drawNetwork() {
    const q = $("net-filter").value.trim().toLowerCase();
    const mode = $("net-group").value;
    const sources = ATTS.filter((a) => SOURCE_KINDS[a[1]]);
    const visible = sources.filter((a) => matches(a, q));
    const individual = visible.length <= INDIVIDUAL;
    const byTable = new Map();
    for (const a of visible) {
      const key = individual ? a[0] : groupKey(a, mode);
      if (!byTable.has(a[4])) byTable.set(a[4], new Map());
      const groups = byTable.get(a[4]);
      const g = groups.get(key) || { n: 0, zone: a[2] };
      g.n += 1;
      groups.set(key, g);
    }
    const root = svg("svg", { role: "img", "aria-label": T("network.tables") });
    const cols = { aws: 20, azure: 20 + BOX_W + HUB_W + 160 };
    const ys = { aws: 50, azure: 50 };
    root.append(svg("text", { x: cols.aws, y: 30, class: "head" }, "AWS Cloud WAN"));
    root.append(svg("text", { x: cols.azure, y: 30, class: "head" }, "Azure Virtual WAN"));
    const hubX = 20 + BOX_W + 80;
    const edges = [], boxes = [];
    for (const t of D.tables) {
      const [name, side, zone, routes, toInsp, toLink] = t;
      const groups = byTable.get(name) || new Map();
      if (q && !groups.size) continue;
      const rows = [...groups.entries()].sort((x, y) => y[1].n - x[1].n || (x[0] < y[0] ? -1 : 1));
      const shownRows = rows.slice(0, MAX_ROWS);
      const h = HEAD + ROW * (shownRows.length + (rows.length > MAX_ROWS ? 1 : 0)) + 8;
      const x = cols[side] || cols.aws, y = ys[side] || ys.aws;
      const g = svg("g", { class: "tbl" });
      g.append(svg("rect", { class: "box", x, y, width: BOX_W, height: h, rx: 6 }));
      g.append(svg("text", { class: "head", x: x + 8, y: y + 16 }, name));
      g.append(svg("text", { x: x + 8, y: y + 32 }, (zone ? zone.split(",").map(zoneLabel).join(", ") + " · " : "") + routes + " routes"));
      shownRows.forEach(([label, info], i) => {
        const ry = y + HEAD + i * ROW;
        const row = svg("g", { class: "grp" });
        row.append(svg("rect", { x: x + 6, y: ry, width: BOX_W - 12, height: ROW - 2, class: zoneClass(info.zone) }));
        row.append(svg("text", { x: x + 12, y: ry + 12 }, individual ? label : label + "  ×" + info.n));
        row.append(svg("title", {}, label + " (" + info.n + ")"));
        g.append(row);
      });
      if (rows.length > MAX_ROWS)
        g.append(svg("text", { x: x + 12, y: y + HEAD + MAX_ROWS * ROW + 12 }, T("att.more", { n: rows.length - MAX_ROWS })));
      boxes.push(g);
      const edgeX = side === "azure" ? x : x + BOX_W;
      if (toInsp) edges.push(["insp", edgeX, y + 20]);
      if (toLink) edges.push(["link", edgeX, y + 28]);
      if (side === "azure") ys.azure += h + 14; else ys.aws += h + 14;
    }
    const height = Math.max(ys.aws, ys.azure, 300) + 20;
    const hubs = { insp: [hubX, 60, T("network.inspection")], link: [hubX, Math.max(200, height / 2), T("network.intercloud")] };
    for (const [kind, ex, ey] of edges) {
      const [hx, hy] = hubs[kind];
      const tx = ex < hx ? hx : hx + HUB_W;
      const mid = (ex + tx) / 2;
      root.append(svg("path", { class: "edge " + kind, d: `M${ex},${ey} C${mid},${ey} ${mid},${hy + 18} ${tx},${hy + 18}` }));
    }
    for (const b of boxes) root.append(b);
    for (const kind of ["insp", "link"]) {
      const [hx, hy, label] = hubs[kind];
      const g = svg("g", { class: "hub " + kind });
      g.append(svg("rect", { x: hx, y: hy, width: HUB_W, height: 36, rx: 18 }));
      g.append(svg("text", { x: hx + 14, y: hy + 22 }, label));
      if (kind === "link") g.append(svg("title", {}, D.intercloud.map((p) => p.join(" ⇄ ")).join("\n")));
      root.append(g);
    }
    const width = cols.azure + BOX_W + 20;
    root.setAttribute("viewBox", `0 0 ${width} ${height}`);
    root.setAttribute("width", Math.round(width * scale));
    root.setAttribute("height", Math.round(height * scale));
    root.dataset.width = width; root.dataset.height = height;
    $("net-view").replaceChildren(root);
    $("net-shown").textContent = T("network.shown", { shown: visible.length, total: sources.length });
  }
  function zoom(factor) {
    scale = factor === 0 ? 1 : Math.min(4, Math.max(0.2, scale * factor));
    const root = $("net-view").querySelector("svg");
    if (!root) return;
    root.setAttribute("width", Math.round(root.dataset.width * scale));
    root.setAttribute("height", Math.round(root.dataset.height * scale));
  }
  let pending = 0;
  $("net-filter").addEventListener("input", () => { clearTimeout(pending); pending = setTimeout(drawNetwork, 150); });
  $("net-group").addEventListener("change", drawNetwork);
  $("zoom-in").addEventListener("click", () => zoom(1.25));
  $("zoom-out").addEventListener("click", () => zoom(0.8));
  $("zoom-fit").addEventListener("click", () => zoom(0));
  $("net-view").addEventListener("wheel", (ev) => { if (ev.ctrlKey) { ev.preventDefault(); zoom(ev.deltaY < 0 ? 1.1 : 0.9); } }, { passive: false });
  $("net-view").addEventListener("keydown", (ev) => {
    if (ev.key === "+" || ev.key === "=") zoom(1.25);
    else if (ev.key === "-") zoom(0.8);
    else if (ev.key === "0") zoom(0);
  });
  rerender.push(drawNetwork);
  drawNetwork();
  document.body.dataset.ready = "true";
})();
