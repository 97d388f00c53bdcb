/* Live-Ablauf: exchanges drawn hop by hop from the server-sent events, pilot start, faults. */
"use strict";

(function () {
  const { el, json, keyValueTable } = window.noots;
  const participants = JSON.parse(document.getElementById("teilnehmer").textContent);

  // Lifelines through the SAKs (the NOOTS shape): the online service talks only to the IDA
  // and its own SAK, which asks RDN and VS and carries the request to the register's SAK. The
  // Intermediäre Plattform's exchanges get lifelines of their own (eu3, eu4): an exchange
  // starts in the SAK layout and switches when an event shows it is one of those.
  const LAYOUTS = {
    sak: {
      lanes: [
        ["Online-Dienst", "Dienst"], ["IDA", "IDA"], ["SAK des Online-Dienstes", "SAK Dienst"],
        ["RDN", "RDN"], ["Vermittlungsstelle", "VS"], ["SAK des Registers", "SAK Reg."], ["Register", "Reg."],
      ],
      dc: 0, dp: 6,
      hops: {
        "dc→ida": { from: 0, to: 1, both: true, order: 0, name: "Online-Dienst ⇄ IDA" },
        "dc→sak": { from: 0, to: 2, order: 1, name: "Online-Dienst → eigener SAK" },
        "sak→rdn": { from: 2, to: 3, both: true, order: 2, name: "SAK ⇄ RDN" },
        "sak→vs": { from: 2, to: 4, both: true, order: 3, name: "SAK ⇄ Vermittlungsstelle" },
        "sak→sak": { from: 2, to: 5, order: 4, name: "SAK → SAK des Registers" },
        "sak→dp": { from: 5, to: 6, order: 5, name: "SAK → Register" },
        "dp→sak": { from: 6, to: 5, order: 6, name: "Register → SAK" },
        "sak←sak": { from: 5, to: 2, order: 7, name: "SAK des Registers → SAK" },
        "sak→dc": { from: 2, to: 0, order: 8, name: "SAK → Online-Dienst" },
      },
      carried: ["sak→sak", "sak→dp", "dp→sak", "sak←sak"],
      answered: "sak→dc",
    },
    // Use case 3: a member state's authority asks the Intermediäre Plattform (EDM over
    // eDelivery); the IP asks the German register through its own SAK like an online service.
    eu3: {
      lanes: [
        ["EU-Behörde (Zugangspunkt)", "EU"], ["Intermediäre Plattform", "IP"], ["SAK der IP", "SAK IP"],
        ["RDN", "RDN"], ["SAK des Registers", "SAK Reg."], ["Register", "Reg."],
      ],
      eu: 0, ip: 1, dp: 5,
      hops: {
        "eu→ip": { from: 0, to: 1, order: 0, name: "EU-Zugangspunkt → IP (EDM-Anfrage)" },
        "dc→sak": { from: 1, to: 2, order: 1, name: "IP → eigener SAK" },
        "sak→rdn": { from: 2, to: 3, both: true, order: 2, name: "SAK der IP ⇄ RDN" },
        "sak→sak": { from: 2, to: 4, order: 3, name: "SAK der IP → SAK des Registers" },
        "sak→dp": { from: 4, to: 5, order: 4, name: "SAK → Register" },
        "dp→sak": { from: 5, to: 4, order: 5, name: "Register → SAK" },
        "sak←sak": { from: 4, to: 2, order: 6, name: "SAK des Registers → SAK der IP" },
        "sak→dc": { from: 2, to: 1, order: 7, name: "SAK → IP" },
        "bürger→ip": { from: 0, to: 1, both: true, order: 8, name: "Nutzerin: Vorschau an der IP" },
        "ip→eu": { from: 1, to: 0, order: 9, name: "IP → EU-Zugangspunkt (EDM-Antwort)" },
      },
      carried: ["sak→sak", "sak→dp", "dp→sak", "sak←sak"],
      answered: "ip→eu",
    },
    // Use case 4: an online service orders EU evidence; the RDN names the IP as provider, the
    // IP asks the EU common services and, once the citizen came, the member state.
    eu4: {
      lanes: [
        ["Online-Dienst", "Dienst"], ["SAK des Online-Dienstes", "SAK Dienst"], ["RDN", "RDN"],
        ["SAK der IP", "SAK IP"], ["Intermediäre Plattform", "IP"], ["EU: Evidence Broker, DSD", "EB/DSD"],
        ["EU-Mitgliedstaat", "EU"],
      ],
      dc: 0, ip: 4, eu: 6,
      hops: {
        "dc→sak": { from: 0, to: 1, order: 0, name: "Online-Dienst → eigener SAK" },
        "sak→rdn": { from: 1, to: 2, both: true, order: 1, name: "SAK ⇄ RDN" },
        "sak→sak": { from: 1, to: 3, order: 2, name: "SAK → SAK der IP" },
        "sak→dp": { from: 3, to: 4, order: 3, name: "SAK → IP" },
        "ip→cs": { from: 4, to: 5, both: true, order: 4, name: "IP ⇄ Evidence Broker und Data Service Directory" },
        "dp→sak": { from: 4, to: 3, order: 5, name: "IP → SAK" },
        "sak←sak": { from: 3, to: 1, order: 6, name: "SAK der IP → SAK" },
        "sak→dc": { from: 1, to: 0, order: 7, name: "SAK → Online-Dienst" },
        "bürger→ip": { from: 0, to: 4, order: 8, name: "Bürgerin an der IP (EU-Anmeldung)" },
        "ip→ms": { from: 4, to: 6, both: true, order: 9, name: "IP ⇄ Mitgliedstaat (EDM-Anfrage)" },
        "ms→ip": { from: 4, to: 6, both: true, order: 10, name: "IP ⇄ Mitgliedstaat nach der Vorschau" },
      },
      carried: ["sak→sak", "sak→dp", "dp→sak", "sak←sak"],
      answered: "sak→dc",
    },
  };
  function hopOf(exchange, hop) {
    return LAYOUTS[exchange.layout].hops[hop];
  }
  function knownHop(hop) {
    return Object.values(LAYOUTS).some((layout) => Boolean(layout.hops[hop]));
  }
  function isPlatform(id) {
    return sideOf(id)[0] === "platform";
  }
  /** The EU layout an event shows its exchange to be in, or null when it does not tell. */
  function euLayoutOf(event) {
    if (["eu→ip", "ip→eu"].includes(event.hop)) return "eu3";
    if (["ip→cs", "ip→ms", "ms→ip"].includes(event.hop)) return "eu4";
    const ids = [event.component, event.peer].filter(Boolean);
    if (!ids.some(isPlatform)) return null;
    // The IP asks (use case 3) when its side meets a register's; it is asked (use case 4)
    // when an online service's side meets it.
    const sides = ids.map((id) => sideOf(id)[0]);
    if (sides.includes("provider")) return "eu3";
    if (sides.includes("consumer")) return "eu4";
    if (["dc→sak", "sak→dc", "sak→rdn"].includes(event.hop)) return "eu3";
    if (["sak→dp", "dp→sak"].includes(event.hop)) return "eu4";
    return null;
  }
  const MAX_EXCHANGES = 30;
  const SLOW_MS = 450;

  const container = document.getElementById("ablaeufe");
  const emptyHint = document.getElementById("leer-hinweis");
  const announcer = document.getElementById("ansage");
  const connection = document.getElementById("verbindung");
  const slowMotion = document.getElementById("zeitlupe");
  const details = document.getElementById("details");
  const detailsBody = document.getElementById("details-inhalt");
  const detailsTitle = document.getElementById("details-h");

  const exchanges = new Map();
  const runs = new Map();
  let lastSeq = 0;
  let boot = null;
  let queue = [];
  let draining = false;
  let openedFrom = null;

  function roleOf(id) {
    return participants[id] ? participants[id].role : null;
  }
  function nameOf(id) {
    return participants[id] ? participants[id].name : id;
  }
  const ROLE_SHORT = { consumer: "Online-Dienst", provider: "Register", vs: "VS", ida: "IDA", rdn: "RDN", iam: "IAM", eid: "eID", platform: "IP", simulator: "EU" };
  function shortName(id) {
    const entry = participants[id];
    if (entry && entry.role === "sak") {
      return { consumer: "SAK Dienst", platform: "SAK IP" }[entry.servesRole] || "SAK Register";
    }
    return ROLE_SHORT[roleOf(id)] || id;
  }
  /** The online service or register a component belongs to (a SAK: the one it connects). */
  function sideOf(id) {
    const entry = participants[id];
    if (!entry) return [null, null];
    if (entry.role === "sak") return [entry.servesRole, entry.serves];
    return [entry.role, id];
  }
  function byStart(events) {
    return [...events].sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
  }
  function clip(text, length) {
    return text.length > length ? text.slice(0, length - 1) + "…" : text;
  }

  // -- exchanges and rows ----------------------------------------------------------------

  function exchangeFor(event) {
    const key = event.traceId || "ohne-" + event.eventId;
    let exchange = exchanges.get(key);
    if (exchange) return exchange;
    exchange = { key, traceId: event.traceId, flowId: null, rows: new Map(), envelopes: [], dc: null, dp: null, ip: null, eu: null, title: "", layout: "sak", waiting: [] };
    const heading = el("h3", {}, "Austausch");
    const meta = el("p", { class: "meta" }, event.traceId ? "Anfrage-ID " + event.traceId : "ohne zuordenbare Anfrage-ID");
    const pilot = el("p", { class: "meta pilot" });
    const overall = el("span", { class: "gesamt laeuft" }, "läuft …");
    const lanes = el("div", { class: "bahnen", "aria-hidden": "true" });
    const list = el("ol", { class: "sequenz", "aria-label": "Schritte" });
    const card = el("article", { class: "austausch", "data-trace": event.traceId || "", "data-layout": "sak" },
      el("div", { class: "austausch-kopf" }, el("div", { class: "austausch-titel" }, heading, meta, pilot), overall),
      lanes,
      list);
    Object.assign(exchange, { card, heading, meta, pilot, overall, lanes, list });
    drawLanes(exchange);
    exchanges.set(key, exchange);
    container.prepend(card);
    emptyHint.hidden = true;
    while (exchanges.size > MAX_EXCHANGES) {
      const [oldestKey, oldest] = exchanges.entries().next().value;
      oldest.card.remove();
      exchanges.delete(oldestKey);
    }
    return exchange;
  }

  function drawLanes(exchange) {
    const layout = LAYOUTS[exchange.layout];
    exchange.card.classList.remove("bahnen-6", "bahnen-7");
    exchange.card.classList.add("bahnen-" + layout.lanes.length);
    exchange.card.dataset.layout = exchange.layout;
    exchange.laneCells = layout.lanes.map(([long, short]) =>
      el("div", { class: "bahn" }, el("span", { class: "bahn-lang" }, long), el("span", { class: "bahn-kurz" }, short), el("small", {}, "")));
    exchange.lanes.replaceChildren(...exchange.laneCells);
    for (const side of ["dc", "dp", "ip", "eu"]) {
      if (exchange[side] && layout[side] !== undefined) {
        exchange.laneCells[layout[side]].querySelector("small").textContent = nameOf(exchange[side]);
      }
    }
  }

  function arrowClass(exchange, hop) {
    const spec = hopOf(exchange, hop);
    const low = Math.min(spec.from, spec.to);
    const high = Math.max(spec.from, spec.to);
    const direction = spec.both ? "beide" : spec.to > spec.from ? "rechts" : "links";
    return `pfeil von-${low + 1} bis-${high + 1} span-${high - low + 1} ${direction}`;
  }

  /** A hop of the Intermediäre Plattform: draw the exchange on the lifelines of its use case. */
  function useLayoutOf(exchange, event) {
    const layout = exchange.layout === "sak" ? euLayoutOf(event) : null;
    if (!layout || layout === exchange.layout) return;
    exchange.layout = layout;
    drawLanes(exchange);
    for (const row of exchange.rows.values()) {
      if (!hopOf(exchange, row.hop)) continue;
      row.arrow.className = arrowClass(exchange, row.hop);
      row.name.textContent = hopOf(exchange, row.hop).name + (row.attempt > 1 ? ` (Versuch ${row.attempt})` : "");
    }
    // Events of hops the first layout did not know waited for this one.
    const waiting = exchange.waiting.splice(0);
    for (const early of waiting) applyFlow(early);
  }

  function noteParties(exchange, event) {
    const layout = LAYOUTS[exchange.layout];
    for (const id of [event.component, event.peer]) {
      if (!id) continue;
      const [role, party] = sideOf(id);
      if (role === "consumer" && !exchange.dc) {
        exchange.dc = party;
        if (layout.dc !== undefined) exchange.laneCells[layout.dc].querySelector("small").textContent = nameOf(party);
      }
      if (role === "provider" && !exchange.dp) {
        exchange.dp = party;
        if (layout.dp !== undefined) exchange.laneCells[layout.dp].querySelector("small").textContent = nameOf(party);
      }
      if (role === "platform" && !exchange.ip) {
        exchange.ip = party;
        if (layout.ip !== undefined) exchange.laneCells[layout.ip].querySelector("small").textContent = nameOf(party);
      }
      if (role === "simulator" && !exchange.eu && ["eu→ip", "ip→eu", "ip→ms", "ms→ip"].includes(event.hop)) {
        exchange.eu = party;
        if (layout.eu !== undefined) exchange.laneCells[layout.eu].querySelector("small").textContent = nameOf(party);
      }
    }
    if (exchange.layout === "eu3" && !exchange.title) exchange.title = "EU-Anfrage über die Intermediäre Plattform";
    if (event.flowId) {
      exchange.flowId = event.flowId;
      exchange.card.dataset.flow = event.flowId;
      describePilot(exchange);
    }
    // The online service names what it asks for ("Meldebescheinigung anfragen"); through the
    // SAKs the route look-up names the evidence type ("Meldebescheinigung: Datenhalter finden").
    if (event.title && roleOf(event.component) === "consumer" && event.hop === "dc→sak") {
      exchange.title = event.title;
    } else if (event.title && !exchange.title && ["dc→rdn", "sak→rdn"].includes(event.hop)) {
      const route = /^(.+): Datenhalter finden$/.exec(event.title);
      if (route) exchange.title = `${route[1]} anfragen`;
    }
    const parts = [exchange.title || "Nachweisabruf"];
    const asking = exchange.layout === "eu3" ? exchange.eu : exchange.dc;
    const asked = exchange.layout === "eu4" ? exchange.eu || exchange.ip : exchange.dp;
    if (asking && asked) parts.push(`${nameOf(asking)} → ${nameOf(asked)}`);
    exchange.heading.textContent = parts.join(" · ");
  }

  function describePilot(exchange) {
    const run = exchange.flowId ? runs.get(exchange.flowId) : null;
    exchange.pilot.textContent = run ? `Pilot „${run.title}“ mit ${run.identity.name}` : "";
  }

  function attemptOf(exchange, envelopeId, hop) {
    if (!envelopeId || !LAYOUTS[exchange.layout].carried.includes(hop)) return 1;
    let index = exchange.envelopes.indexOf(envelopeId);
    if (index < 0) index = exchange.envelopes.push(envelopeId) - 1;
    return index + 1;
  }

  function rowFor(exchange, event) {
    const hop = hopOf(exchange, event.hop);
    const attempt = attemptOf(exchange, event.envelopeId, event.hop);
    const key = event.hop + "|" + attempt;
    let row = exchange.rows.get(key);
    if (row) return row;
    const arrow = el("div", { class: arrowClass(exchange, event.hop) });
    const name = el("span", { class: "schritt-name" }, hop.name + (attempt > 1 ? ` (Versuch ${attempt})` : ""));
    const title = el("span", { class: "schritt-titel" });
    const timing = el("span", { class: "dauer" });
    const verdict = el("span", { class: "ergebnis-text" });
    const button = el("button", { type: "button", class: "schritt-knopf", "aria-controls": "details", "aria-expanded": "false" },
      name, title, timing, verdict);
    const checks = el("ul", { class: "pruefungen", "aria-label": "Prüfungen" });
    const item = el("li", { class: "schritt", "data-hop": event.hop, "data-attempt": String(attempt) }, arrow, button, checks);
    row = { key, hop: event.hop, attempt, events: [], item, arrow, name, title, timing, verdict, checks, start: Infinity, exchange };
    button.addEventListener("click", () => openDetails(row, button));
    exchange.rows.set(key, row);
    placeRow(exchange, row, Date.parse(event.startedAt));
    return row;
  }

  function placeRow(exchange, row, start) {
    row.start = start;
    const order = (r) => [r.attempt, r.start, hopOf(exchange, r.hop).order];
    const mine = order(row);
    const later = [...exchange.rows.values()].filter((other) => {
      if (other === row || !other.item.isConnected) return false;
      const theirs = order(other);
      for (let i = 0; i < 3; i += 1) if (theirs[i] !== mine[i]) return theirs[i] > mine[i];
      return false;
    });
    const next = later.map((r) => r.item).find((node) => node.parentNode === exchange.list);
    exchange.list.insertBefore(row.item, next || null);
  }

  function renderRow(row) {
    const events = byStart(row.events);
    const checks = events.flatMap((e) => e.checks);
    const failed = checks.filter((c) => !c.ok);
    const ok = failed.length === 0;
    row.item.classList.toggle("ok", ok);
    row.item.classList.toggle("fehler", !ok);
    row.title.textContent = events.map((e) => e.title).filter(Boolean)[0] || "";
    // Each side's own time: the sender's includes the wait for the answer.
    row.timing.textContent = events.map((e) => `${shortName(e.component)} ${formatMs(e.durationMs)}`).join(" · ");
    row.verdict.textContent = !ok
      ? `✗ ${failed.length} von ${checks.length} nicht bestanden`
      : checks.length === 0
        ? "✓ weitergegeben"
        : `✓ ${checks.length} ${checks.length === 1 ? "Prüfung" : "Prüfungen"} bestanden`;
    const groups = events.filter((e) => e.checks.length).map((event) =>
      el("li", { class: "gruppe" },
        el("span", { class: "wer" }, shortName(event.component) + ":"),
        el("ul", {}, ...event.checks.map(checkPill))));
    row.checks.replaceChildren(...groups);
    return { ok, failed, checks };
  }

  /** One check as a pill: ✓ passed, ✗ failed with its reason; a fault switched on from this
   *  page is shown as what it is ("Störung simuliert: …"), not as a failed statement. */
  function checkPill(check) {
    if (check.simulated) {
      return el("li", { class: "pruefung fehler simuliert", title: check.name },
        "⚠ Störung " + check.detail);
    }
    return el("li", { class: "pruefung " + (check.ok ? "ok" : "fehler"), title: check.detail || "" },
      (check.ok ? "✓ " : "✗ ") + check.name,
      !check.ok && check.detail ? el("span", { class: "grund" }, " – " + clip(check.detail, 110)) : null);
  }

  /** The badge of a failed exchange: the first check that failed for real, and a simulated
   *  fault beside it when one caused it. Never a passed check, never a bare "Fehler". */
  function failureText(rows) {
    const checks = rows.flatMap((r) => byStart(r.events).flatMap((e) => e.checks)).filter((c) => !c.ok);
    const real = checks.find((c) => !c.simulated);
    const simulated = checks.find((c) => c.simulated);
    if (real && simulated) return `✗ nicht bestanden: ${real.name} · Störung ${simulated.detail}`;
    if (real) return `✗ nicht bestanden: ${real.name}`;
    if (simulated) return `✗ Störung ${simulated.detail}`;
    return "✗ fehlgeschlagen";
  }

  function formatMs(ms) {
    return ms >= 1000 ? `${(ms / 1000).toFixed(1).replace(".", ",")} s` : `${Math.round(ms)} ms`;
  }

  function renderExchange(exchange) {
    const rows = [...exchange.rows.values()];
    const failed = rows.some((r) => r.item.classList.contains("fehler"));
    const answered = rows.some((r) => r.hop === LAYOUTS[exchange.layout].answered);
    const state = failed ? "fehler" : answered ? "ok" : "laeuft";
    exchange.card.classList.toggle("ok", state === "ok");
    exchange.card.classList.toggle("fehler", state === "fehler");
    exchange.overall.className = "gesamt " + state;
    if (state === "fehler") {
      exchange.overall.textContent = failureText(rows);
    } else {
      exchange.overall.textContent = state === "ok" ? "✓ alle Prüfungen bestanden" : "läuft …";
    }
  }

  function applyFlow(event) {
    if (!knownHop(event.hop)) return;
    const exchange = exchangeFor(event);
    useLayoutOf(exchange, event);
    if (!hopOf(exchange, event.hop)) {
      // A hop of a layout this exchange may still turn out to be in (the IP's hops can
      // arrive before the ones that tell the use case): kept until then.
      if (!exchange.waiting.some((e) => e.eventId === event.eventId)) exchange.waiting.push(event);
      return;
    }
    noteParties(exchange, event);
    const row = rowFor(exchange, event);
    if (row.events.some((e) => e.eventId === event.eventId)) return;
    row.events.push(event);
    const verdict = renderRow(row);
    renderExchange(exchange);
    const hopName = hopOf(exchange, row.hop).name;
    announcer.textContent = verdict.ok
      ? `${hopName}: ${verdict.checks.length} Prüfungen bestanden`
      : `${hopName}: nicht bestanden – ${verdict.failed.map((c) => (c.simulated ? "Störung " + c.detail : c.name)).join(", ")}`;
    if (openedFrom && openedFrom.row === row) renderDetails(row);
  }

  // -- pilot runs ------------------------------------------------------------------------

  const runBox = document.getElementById("lauf");
  const STATE_SYMBOL = { geliefert: "✓", fehlgeschlagen: "✗", angekündigt: "⏱", läuft: "…", wartet: "·" };

  function applyRun(run) {
    runs.set(run.runId, run);
    for (const exchange of exchanges.values()) if (exchange.flowId === run.runId) describePilot(exchange);
    if (!runBox) return;
    const newest = [...runs.values()].sort((a, b) => (a.startedAt < b.startedAt ? 1 : -1))[0];
    if (newest.runId !== run.runId) return;
    const items = run.results.map((result) => {
      const item = el("div", { class: "ergebnis " + result.state, "data-evidence": result.evidenceType },
        el("p", {}, el("strong", {}, `${STATE_SYMBOL[result.state] || ""} ${result.label}`), ` für ${result.subject}: ${result.state}`),
        result.text ? el("p", { class: "klein" }, result.text) : null,
        result.fix ? el("p", { class: "klein" }, "Was hilft: " + result.fix) : null);
      if (result.rows.length) {
        const table = el("table", {}, el("caption", { class: "sr-only" }, "Übernommene Daten"));
        for (const [label, value] of result.rows) table.append(el("tr", {}, el("th", { scope: "row" }, label), el("td", {}, value)));
        item.append(el("details", { class: "daten" }, el("summary", {}, `Übernommene Daten (${result.rows.length} Angaben)`), table));
      }
      return item;
    });
    runBox.replaceChildren(
      el("h3", {}, `${run.title} – ${run.identity.name}`),
      el("p", { class: "klein", id: "lauf-zustand", "data-state": run.state },
        `${run.consumerName} · ${run.viaIda ? "IDNr über IDA" : "IDNr aus eID"} · ${run.state}`),
      ...items);
  }

  // Strict mode has no pilots and no faults: the page then has neither form.
  const pilotForm = document.getElementById("pilot-form");
  const pilotMessage = document.getElementById("pilot-meldung");
  const identity = document.getElementById("identitaet");
  if (identity) identity.addEventListener("change", () => {
    document.getElementById("identitaet-hinweis").textContent = identity.selectedOptions[0].dataset.description || "";
  });
  if (pilotForm) pilotForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = document.getElementById("pilot-start");
    button.disabled = true;
    pilotMessage.textContent = "Pilot wird gestartet …";
    try {
      const run = await json("/api/v1/runs", {
        method: "POST",
        body: { pilot: pilotForm.pilot.value, idnr: pilotForm.idnr.value, viaIda: pilotForm.weg.value === "ida" },
      });
      pilotMessage.textContent = `Pilot „${run.title}“ gestartet.`;
      applyRun(run);
    } catch (error) {
      pilotMessage.textContent = "Start fehlgeschlagen: " + error.message;
    } finally {
      button.disabled = false;
    }
  });

  // -- faults ----------------------------------------------------------------------------

  function showFault(row, entry) {
    const cell = row.querySelector(".stoerung-zustand");
    cell.textContent = entry.text;
    cell.classList.toggle("aktiv", Boolean(entry.choice));
    if (entry.choice !== undefined) row.querySelector(".stoerung-wahl").value = entry.choice || "";
  }

  async function loadFaults() {
    try {
      const data = await json("/api/v1/faults");
      for (const entry of data.registers) {
        const row = document.querySelector(`#stoerungen-tabelle tr[data-register="${CSS.escape(entry.participantId)}"]`);
        if (row) showFault(row, entry);
      }
    } catch (error) {
      for (const cell of document.querySelectorAll(".stoerung-zustand")) cell.textContent = "unbekannt: " + error.message;
    }
  }

  for (const row of document.querySelectorAll("#stoerungen-tabelle tbody tr")) {
    row.querySelector(".stoerung-setzen").addEventListener("click", async () => {
      const choice = row.querySelector(".stoerung-wahl").value || null;
      const cell = row.querySelector(".stoerung-zustand");
      cell.textContent = "wird gesetzt …";
      try {
        showFault(row, await json(`/api/v1/faults/${encodeURIComponent(row.dataset.register)}`, { method: "PUT", body: { fault: choice } }));
      } catch (error) {
        cell.textContent = "nicht gesetzt: " + error.message;
      }
    });
  }

  // -- details panel -----------------------------------------------------------------------

  function openDetails(row, button) {
    if (openedFrom) openedFrom.button.setAttribute("aria-expanded", "false");
    openedFrom = { row, button };
    button.setAttribute("aria-expanded", "true");
    renderDetails(row);
    details.hidden = false;
    details.focus();
  }

  function closeDetails() {
    details.hidden = true;
    if (openedFrom) {
      openedFrom.button.setAttribute("aria-expanded", "false");
      openedFrom.button.focus();
    }
    openedFrom = null;
  }

  document.getElementById("details-zu").addEventListener("click", closeDetails);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !details.hidden) closeDetails();
  });

  function renderDetails(row) {
    detailsTitle.textContent = hopOf(row.exchange, row.hop).name + (row.attempt > 1 ? ` (Versuch ${row.attempt})` : "");
    const parts = byStart(row.events).map((event) => {
      const part = el("section", { class: "teil" },
        el("h3", {}, `${nameOf(event.component)} (${event.component})`),
        el("p", { class: "klein" }, `${event.title || ""} · ${formatMs(event.durationMs)} · begonnen ${event.startedAtText}`),
        el("ul", { class: "pruefliste" }, ...event.checks.map((c) =>
          c.simulated
            ? el("li", { class: "fehler simuliert" }, "Störung " + c.detail, el("span", { class: "detail" }, `Prüfung „${c.name}“: auf dieser Seite eingeschaltet`))
            : el("li", { class: c.ok ? "ok" : "fehler" }, c.name, c.detail ? el("span", { class: "detail" }, c.detail) : null))));
      if (event.documents.length) {
        const target = el("div", { class: "dokument-ansicht" });
        const buttons = event.documents.map((doc) => {
          const knopf = el("button", { type: "button", class: "knopf dokument-knopf", disabled: doc.omitted },
            `${doc.label} anzeigen (${doc.size} Bytes)`);
          knopf.addEventListener("click", () => showDocument(event.eventId, doc.index, target));
          return knopf;
        });
        part.append(el("div", { class: "dokument-knoepfe" }, ...buttons), target);
      }
      return part;
    });
    detailsBody.replaceChildren(...parts);
  }

  async function showDocument(eventId, index, target) {
    target.replaceChildren(el("p", {}, "Nachricht wird geprüft …"));
    try {
      const doc = await json(`/api/v1/events/${eventId}/documents/${index}`);
      target.replaceChildren(renderDocument(doc, 4));
    } catch (error) {
      target.replaceChildren(el("p", { class: "fehler-text" }, "Nicht verfügbar: " + error.message));
    }
  }

  function renderDocument(doc, level) {
    const h = (text) => el("h" + Math.min(level, 6), {}, text);
    const box = el("div", { class: "dokument" }, h(doc.kind), el("p", { class: "klein" }, `${doc.label} · ${doc.size} Bytes · SHA-256 ${doc.sha256}`));
    if (doc.problem) box.append(el("p", { class: "fehler-text" }, doc.problem));
    if (doc.verification) {
      box.append(el("p", { class: "urteil " + (doc.verification.ok ? "ok" : "fehler") },
        (doc.verification.ok ? "✓ " : "✗ ") + doc.verification.text));
    } else if (!doc.problem) {
      box.append(el("p", { class: "klein" }, "Dieses Dokument trägt keine eigene Signatur."));
    }
    if (doc.header && doc.header.length) box.append(h("Inhalt (Kopfdaten)"), keyValueTable(doc.header, "Kopfdaten"));
    if (doc.signature) {
      const table = el("table", { class: "kv signatur" },
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Bestandteil"), el("th", { scope: "col" }, "Wert"), el("th", { scope: "col" }, "Bedeutung"))));
      const body = el("tbody");
      for (const item of doc.signature.items) {
        body.append(el("tr", {}, el("th", { scope: "row" }, item.name), el("td", {}, el("code", {}, item.value)), el("td", {}, `${item.meaning} – ${item.explain}`)));
      }
      table.append(body);
      box.append(h("Signatur (XMLDSig, SignedInfo)"), table);
    }
    if (doc.certificate) {
      box.append(h("Zertifikatskette des Unterzeichners"),
        el("ol", { class: "pruefliste kette" }, ...doc.certificate.chain.map((step) =>
          el("li", { class: step.ok ? "ok" : "fehler" }, el("strong", {}, step.name), el("span", { class: "detail" }, step.text)))),
        keyValueTable(doc.certificate.details, "Zertifikat"));
    }
    box.append(h("XML (formatiert, nur zur Anzeige – signiert sind die Originalbytes)"), highlighted(doc.pretty));
    for (const nested of doc.nested || []) {
      box.append(el("details", { class: "verschachtelt" }, el("summary", {}, nested.label), renderDocument(nested, level + 1)));
    }
    return box;
  }

  function highlighted(text) {
    const pre = el("pre", { class: "xml", tabindex: "0" });
    const code = el("code");
    for (const piece of text.split(/(<[^>]+>)/)) {
      if (!piece) continue;
      if (piece.startsWith("<")) code.append(el("span", { class: /<\/?ds:/.test(piece) ? "x-tag x-sig" : "x-tag" }, piece));
      else code.append(document.createTextNode(piece));
    }
    pre.append(code);
    return pre;
  }

  // -- the event stream --------------------------------------------------------------------

  function handle(kind, data) {
    if (kind === "flow") applyFlow(data);
    else if (kind === "run") applyRun(data);
  }

  function drain() {
    if (!queue.length) {
      draining = false;
      return;
    }
    draining = true;
    const [kind, data] = queue.shift();
    handle(kind, data);
    const delay = slowMotion.checked && kind === "flow" ? SLOW_MS : 0;
    setTimeout(drain, delay);
  }

  function enqueue(kind, data, seq) {
    if (seq <= lastSeq) return;
    lastSeq = seq;
    queue.push([kind, data]);
    if (!draining) drain();
  }

  document.getElementById("leeren").addEventListener("click", () => {
    for (const exchange of exchanges.values()) exchange.card.remove();
    exchanges.clear();
    emptyHint.hidden = false;
    closeDetails();
  });

  async function start() {
    try {
      const recent = await json("/events/v1");
      boot = recent.boot;
      for (const notice of recent.notices) {
        lastSeq = Math.max(lastSeq, notice.seq);
        handle(notice.kind, notice.data);
      }
    } catch (error) {
      connection.textContent = "Verlauf nicht geladen";
    }
    const source = new EventSource("/events/v1/stream?after=" + lastSeq);
    source.addEventListener("open", () => {
      connection.dataset.state = "offen";
      connection.textContent = "live verbunden";
    });
    source.addEventListener("error", () => {
      connection.dataset.state = "getrennt";
      connection.textContent = "Verbindung unterbrochen – verbinde neu …";
    });
    source.addEventListener("hello", (message) => {
      const hello = JSON.parse(message.data);
      // A restarted dashboard counts from 1 again: accept its numbers.
      if (boot !== null && hello.boot !== boot) lastSeq = 0;
      boot = hello.boot;
    });
    for (const kind of ["flow", "run"]) {
      source.addEventListener(kind, (message) => enqueue(kind, JSON.parse(message.data), Number(message.lastEventId)));
    }
  }

  if (document.getElementById("stoerungen-tabelle")) loadFaults();
  start();
})();
