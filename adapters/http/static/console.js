// The operations console: a page per hash route (#/payments, #/payment/REF, ...), each drawn
// from the JSON API with the token kept in sessionStorage. Every value from the API is put in
// the page as text (never as HTML): messages come from outside the bank.
"use strict";

const TOKEN_KEY = "tokenbridge.token";
const view = document.getElementById("view");

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "onclick" || key === "onsubmit") node.addEventListener(key.slice(2), value);
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function table(headings, rows) {
  return el("div", {class: "scroll"}, el("table", {},
    el("thead", {}, el("tr", {}, headings.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) =>
      c instanceof Node && c.tagName === "TD" ? c : el("td", {}, c)))))));
}

const num = (text) => el("td", {class: "n"}, text ?? "");
const when = (iso) => (iso ? iso.replace("T", " ").replace(/\.\d+/, "").replace("+00:00", "Z") : "");

class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

async function api(path, options = {}) {
  const response = await fetch(path, {...options, headers: {
    ...(options.headers || {}), Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) || ""}`}});
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  const detail = typeof body === "object" ? body.detail : body;
  if (response.status === 401) { logout(detail); throw new ApiError(401, detail); }
  if (!response.ok) throw new ApiError(response.status, detail);
  return body;
}

function show(...nodes) { view.replaceChildren(...nodes); }
function failure(error) { show(el("div", {class: "card"}, el("p", {class: "error", role: "alert"}, `${error.status || ""} ${error.message}`))); }

// -- login -------------------------------------------------------------------------------------
const loginForm = document.getElementById("login");
loginForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const field = document.getElementById("token");
  sessionStorage.setItem(TOKEN_KEY, field.value.trim());
  field.value = "";  // the secret leaves the page: never shown again
  try {
    await api("/api/health?audit=false");
    document.getElementById("login-error").textContent = "";
    start();
  } catch (error) {
    sessionStorage.removeItem(TOKEN_KEY);
    document.getElementById("login-error").textContent = `refused: ${error.message}`;
  }
});

function logout(reason) {
  sessionStorage.removeItem(TOKEN_KEY);
  document.getElementById("nav").hidden = true;
  view.replaceChildren();
  loginForm.hidden = false;
  document.getElementById("login-error").textContent = reason || "";
}
document.getElementById("logout").addEventListener("click", () => logout("logged out"));

function start() {
  loginForm.hidden = true;
  document.getElementById("nav").hidden = false;
  if (!location.hash || location.hash === "#/") location.hash = "#/payments"; else route();
}

// -- pages -------------------------------------------------------------------------------------
async function paymentsPage(query) {
  const input = el("input", {type: "search", id: "q", name: "q", value: query || "",
    placeholder: "UETR, EndToEndId, MsgId, account or wallet", required: true});
  const results = el("div", {id: "results"});
  const form = el("form", {class: "card", id: "search", onsubmit: (event) => {
    event.preventDefault(); location.hash = `#/payments/${encodeURIComponent(input.value.trim())}`; }},
    el("h1", {}, "Payments"), el("label", {}, "Find a payment ", input), el("button", {type: "submit"}, "Search"));
  show(form, results);
  if (!query) return;
  const found = await api(`/api/payments?q=${encodeURIComponent(query)}`);
  if (!found.matches.length) { results.append(el("p", {class: "card muted"}, `Nothing found for ${query}.`)); return; }
  results.append(el("div", {class: "card"}, el("p", {class: "muted"}, `${found.matches.length} found by ${found.found_by}`),
    table(["when", "payment", "message", "kind", "amount", "from", "to", "status"], found.matches.map((m) => [
      when(m.at), el("a", {href: `#/payment/${encodeURIComponent(m.ref)}`, class: "open"}, m.ref),
      `${m.message_type || ""} ${m.message_id || ""}`, m.kind || "", num(m.amount ? `${m.amount} ${m.currency}` : ""),
      m.debit_wallet || "", m.credit_wallet || "", m.status || ""]))));
}

async function paymentPage(ref) {
  const found = await api(`/api/payments/${encodeURIComponent(ref)}`);
  const events = el("ol", {class: "timeline", id: "timeline"}, found.timeline.map((e) =>
    el("li", {class: `k-${e.kind}`}, el("span", {class: "tag"}, e.kind), " ", el("strong", {}, e.title),
      el("div", {class: "muted"}, when(e.at)), el("div", {}, e.detail))));
  const messages = found.messages.map((m) => el("div", {class: "card"},
    el("h2", {}, `${m.message_type || "?"} ${m.message_id || ""}`),
    el("p", {}, `received ${when(m.received_at)} from ${m.sender || "?"}: `, el("strong", {}, m.verdict), ` (${m.summary})`),
    m.transactions.length ? table(["#", "EndToEndId", "UETR", "amount", "status", "operation"], m.transactions.map((t) => [
      String(t.index + 1), t.end_to_end_id, t.uetr || "", num(`${t.amount} ${t.currency}`),
      `${t.status}${t.reason ? ` ${t.reason}` : ""}${t.info ? ` ${t.info}` : ""}`,
      t.operation ? `${t.operation.kind} ${t.operation.amount} ${t.operation.currency} ${t.operation.debit_wallet || "issuance"} -> ${t.operation.credit_wallet || "issuance"} (${t.operation.status})` : "none"])) : "",
    el("p", {}, "sent about it: ", m.replies.length ? m.replies.map((r) => `${r.message_type} ${r.message_id} (${r.published ? "published" : "in the outbox"})`).join(", ") : "nothing")));
  show(el("div", {class: "card"}, el("h1", {}, `Payment ${ref}`), el("h2", {}, "Timeline"), events), ...messages);
}

async function deadLettersPage() {
  const found = await api("/api/dead-letters");
  show(el("div", {class: "card"}, el("h1", {}, "Dead letters"),
    el("p", {class: "muted"}, `${found.letters.length} in ${found.queue}`),
    table(["id", "reason", "message id", "type", "bytes"], found.letters.map((d) => [
      el("a", {href: `#/dead-letter/${d.id}`, class: "open"}, d.id), d.reason, d.message_id || "", d.type || "", num(d.bytes)]))));
}

async function deadLetterPage(id) {
  const letter = await api(`/api/dead-letters/${encodeURIComponent(id)}`);
  const outcome = el("p", {id: "redrive-outcome", role: "status"});
  const button = el("button", {type: "button", id: "redrive", onclick: async () => {
    button.disabled = true;
    try {
      const done = await api(`/api/dead-letters/${encodeURIComponent(id)}/redrive`, {method: "POST"});
      outcome.className = "ok";
      outcome.textContent = `re-driven: ${done.redriven.join(" ")}; the worker handles it again`;
    } catch (error) {
      outcome.className = "error"; outcome.textContent = `not re-driven: ${error.message}`; button.disabled = false;
    }
  }}, "Re-drive");
  show(el("div", {class: "card"}, el("h1", {}, `Dead letter ${letter.id}`),
    el("p", {}, el("strong", {}, "reason: "), letter.reason),
    el("p", {class: "muted"}, `message id ${letter.message_id || "?"}, ${letter.bytes} bytes${letter.content_encoding ? `, ${letter.content_encoding}` : ""}${letter.redriven_before ? ", re-driven before" : ""}`),
    button, outcome,
    el("h2", {}, "Headers"), table(["header", "value"], Object.entries(letter.headers)),
    el("h2", {}, letter.body_truncated ? "Message (the beginning)" : "Message"), el("pre", {}, letter.body)));
}

async function reconciliationsPage() {
  const found = await api("/api/reconciliations");
  show(el("div", {class: "card"}, el("h1", {}, "Reconciliation reports"),
    found.reports.length ? table(["sent", "statement message", "account", "period", "closing booked", "ledger", "in flight", "result"],
      found.reports.flatMap((r) => r.statements.map((s) => [
        when(r.sent_at), el("a", {href: `#/reconciliation/${r.id}`, class: "open"}, s.message_id || r.correlation_id || r.id),
        `${s.account} ${s.currency}`, `${when(s.from)} to ${when(s.to)}`, num(s.closing_booked),
        num(`${s.ledger_closing ?? ""} (${s.ledger_measure || ""})`), num(s.in_flight),
        el("span", {class: s.clean ? "ok" : "error"}, s.clean ? "clean" : `${r.breaks} break(s)`)])))
      : el("p", {class: "muted"}, "No statement reconciled yet.")));
}

async function reconciliationPage(id) {
  const found = await api(`/api/reconciliations/${encodeURIComponent(id)}`);
  const page = await api(`/api/reconciliations/${encodeURIComponent(id)}/html`);
  const source = found.source;
  show(el("div", {class: "card"}, el("h1", {}, `Reconciliation ${found.correlation_id || found.id}`),
    el("p", {}, source ? `statement ${source.message_type} MsgId ${source.message_id} from ${source.sender || "?"}, received ${when(source.received_at)} (message digest ${source.digest.slice(0, 12)})` : "statement message not found in the inbox"),
    table(["account", "period", "closing booked", "ledger", "in flight (booked on one side only)", "result"], found.statements.map((s) => [
      `${s.account} ${s.currency}`, `${when(s.from)} to ${when(s.to)}`, num(s.closing_booked),
      num(`${s.ledger_closing ?? ""} (${s.ledger_measure || ""})`), num(s.in_flight),
      el("span", {class: s.clean ? "ok" : "error"}, s.clean ? "clean" : "breaks")])),
    found.report.statements.map((s) => el("div", {},
      el("h2", {}, `${s.account} ${s.currency}: booked balance and ${s.ledger.measure}`),
      chart([{data: s.series.statement, colour: "#1565c0", width: 2}, {data: s.series.ledger, colour: "#ef6c00", width: 2}],
        `${s.account} booked balance and ledger over the statement's period`),
      el("p", {}, el("span", {style: "color:#1565c0"}, "■ booked balance (statement) "),
        el("span", {style: "color:#ef6c00"}, `■ ${s.ledger.measure} (ledger) `),
        `in flight at the end: ${s.ledger.in_flight ?? "0"} ${s.currency} (booked on one side, not yet on the other)`))),
    el("h2", {}, "The report"),
    el("iframe", {title: "report", sandbox: "", srcdoc: page})));
}

function chart(series, labels) {
  // One line per series ([[iso, "decimal"], ...]), on one time axis and one amount axis.
  const width = 900, height = 300, left = 80, bottom = 30, top = 10;
  const points = series.flatMap((s) => s.data.map(([t, v]) => [Date.parse(t), Number(v)]));
  if (!points.length) return el("p", {class: "muted"}, "No postings in this currency yet.");
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]).concat([0]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs) + 1], [y0, y1] = [Math.min(...ys), Math.max(...ys) || 1];
  const x = (t) => left + ((t - x0) / (x1 - x0)) * (width - left - 10);
  const y = (v) => height - bottom - ((v - y0) / (y1 - y0 || 1)) * (height - bottom - top);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`); svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", labels);
  const add = (tag, attrs, text) => { const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v); if (text) n.textContent = text; svg.append(n); };
  add("line", {x1: left, x2: width - 10, y1: y(0), y2: y(0), stroke: "#999"});
  for (const v of [y0, (y0 + y1) / 2, y1]) add("text", {x: 4, y: y(v) + 4}, v.toLocaleString());
  add("text", {x: left, y: height - 8}, new Date(x0).toISOString().slice(0, 16).replace("T", " "));
  add("text", {x: width - 130, y: height - 8}, new Date(x1).toISOString().slice(0, 16).replace("T", " "));
  for (const s of series) {
    // a balance holds until the next posting: steps, drawn on to the last time of the chart
    const d = s.data.map(([t, v], i) => `${i ? "H" : "M"}${x(Date.parse(t)).toFixed(1)}${i ? "V" : ","}${y(Number(v)).toFixed(1)}`).join("")
      + `H${x(x1 - 1).toFixed(1)}`;
    add("path", {d, fill: "none", stroke: s.colour, "stroke-width": s.width || 1.5});
  }
  return svg;
}

const COLOURS = ["#1565c0", "#2e7d32", "#6a1b9a", "#00838f", "#ad1457", "#5d4037", "#f9a825", "#455a64"];

async function balancesPage(currency) {
  const now = await api("/api/balances");
  const currencies = Object.keys(now.supply);
  const chosen = currency || currencies[0];
  const picker = el("select", {id: "currency"}, currencies.map((c) => el("option", {value: c, selected: c === chosen}, c)));
  picker.addEventListener("change", () => { location.hash = `#/balances/${picker.value}`; });
  const parts = [el("h1", {}, "Balances and supply"), el("p", {class: "muted"}, `ledger: ${now.ledger}`),
    table(["currency", "supply"], Object.entries(now.supply).map(([c, v]) => [c, num(v)]))];
  if (chosen) {
    const history = await api(`/api/balances/history?currency=${chosen}`);
    const wallets = Object.entries(history.wallets);
    const series = [{data: history.supply, colour: "#ef6c00", width: 3},
      ...wallets.map(([, data], i) => ({data, colour: COLOURS[i % COLOURS.length]}))];
    parts.push(el("h2", {}, `${chosen} over time `, picker), chart(series, `${chosen} supply and wallet balances over time`),
      el("p", {}, el("span", {style: "color:#ef6c00"}, "■ supply"), " ",
        wallets.map(([w], i) => el("span", {style: `color:${COLOURS[i % COLOURS.length]}`}, `■ ${w} `))),
      el("p", {class: "muted"}, history.holds_note));
  }
  parts.push(el("h2", {}, "Wallets"), table(["wallet", "currency", "balance"],
    now.wallets.map((w) => [w.wallet, w.currency, num(w.balance)])));
  show(el("div", {class: "card"}, parts));
}

async function healthPage() {
  const h = await api("/api/health");
  const flag = (good, text) => el("span", {class: good ? "ok" : "error"}, text);
  const last = h.last_reconciliation;
  show(el("div", {class: "card"}, el("h1", {}, "Health"), el("p", {class: "muted"}, `checked ${when(h.checked_at)}`),
    el("div", {class: "cards"},
      el("div", {class: "card"}, el("h2", {}, "Broker"), flag(h.broker.reachable, h.broker.reachable ? "reachable" : `unreachable (${h.broker.error})`), el("div", {class: "muted"}, h.broker.url)),
      el("div", {class: "card"}, el("h2", {}, "Outbox"), `${h.outbox.backlog} waiting`, el("div", {class: "muted"}, h.outbox.lag_seconds === null ? "nothing waiting" : `oldest ${h.outbox.lag_seconds} s`)),
      el("div", {class: "card"}, el("h2", {}, "Settlement"), `${h.settlement.unfinal} not final, ${h.settlement.unmined} unmined`, el("div", {class: "muted"}, h.settlement.note || `ledger ${h.settlement.ledger}`)),
      el("div", {class: "card"}, el("h2", {}, "Last reconciliation"), last ? flag(last.clean, last.clean ? "clean" : `${last.breaks} break(s)`) : "none yet", el("div", {class: "muted"}, last ? when(last.sent_at) : "")),
      el("div", {class: "card"}, el("h2", {}, "Audit trail"), flag(h.audit.intact, h.audit.intact ? "intact" : `${h.audit.findings.length} finding(s)`), el("div", {class: "muted"}, `${h.audit.links} links`))),
    el("h2", {}, "Queues"), table(["queue", "messages", "consumers"], h.broker.queues.map((q) => [q.queue, num(q.messages), num(q.consumers)])),
    h.audit.findings.length ? [el("h2", {}, "Audit findings"), table(["table", "reference", "problem"], h.audit.findings.map((f) => [f.table, f.reference, f.problem]))] : ""));
}

async function auditPage() {
  const found = await api("/api/audit/actions");
  show(el("div", {class: "card"}, el("h1", {}, "Operator actions"),
    el("p", {class: "muted"}, "Each one a link of the audit chain, naming the token that acted."),
    table(["#", "when", "token", "action", "target", "outcome", "detail"], found.actions.map((a) => [
      num(a.sequence), when(a.at), a.token, a.action, a.target, a.outcome, a.detail]))));
}

// -- routing -----------------------------------------------------------------------------------
const ROUTES = [
  [/^#\/payments(?:\/(.+))?$/, (q) => paymentsPage(q && decodeURIComponent(q)), "#/payments"],
  [/^#\/payment\/(.+)$/, (ref) => paymentPage(decodeURIComponent(ref)), "#/payments"],
  [/^#\/dead-letters$/, deadLettersPage, "#/dead-letters"],
  [/^#\/dead-letter\/(.+)$/, (id) => deadLetterPage(decodeURIComponent(id)), "#/dead-letters"],
  [/^#\/reconciliations$/, reconciliationsPage, "#/reconciliations"],
  [/^#\/reconciliation\/(.+)$/, (id) => reconciliationPage(decodeURIComponent(id)), "#/reconciliations"],
  [/^#\/balances(?:\/(.+))?$/, (c) => balancesPage(c), "#/balances"],
  [/^#\/health$/, healthPage, "#/health"],
  [/^#\/audit$/, auditPage, "#/audit"],
];

async function route() {
  if (!sessionStorage.getItem(TOKEN_KEY)) { logout(); return; }
  for (const [pattern, page, tab] of ROUTES) {
    const match = location.hash.match(pattern);
    if (!match) continue;
    for (const link of document.querySelectorAll("nav a")) link.classList.toggle("active", link.getAttribute("href") === tab);
    show(el("p", {class: "muted"}, "loading…"));
    try { await page(...match.slice(1)); } catch (error) { if (error.status !== 401) failure(error); }
    return;
  }
  location.hash = "#/payments";
}

window.addEventListener("hashchange", route);
if (sessionStorage.getItem(TOKEN_KEY)) start(); else logout();
