/* Datenschutzcockpit: log in as a test citizen through the dashboard and list the transfers. */
"use strict";

(function () {
  const { el, json } = window.noots;
  const form = document.getElementById("dsc-form");
  const message = document.getElementById("dsc-meldung");
  const result = document.getElementById("dsc-ergebnis");
  const info = document.getElementById("dsc-person-info");
  const body = document.querySelector("#dsc-tabelle tbody");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = "Anmeldung mit der simulierten eID …";
    const button = document.getElementById("dsc-anmelden");
    button.disabled = true;
    try {
      const data = await json("/api/v1/dsc", {
        method: "POST",
        body: { idnr: form.idnr.value, level: form.level.value },
      });
      const person = data.identity;
      info.replaceChildren(
        el("strong", {}, person.name), ` (IDNr ${person.idnr}), Vertrauensniveau ${person.level}, angemeldet bis ${person.expiresAtText}. `,
        el("span", { class: person.check.ok ? "ok-text" : "fehler-text" }, person.check.text)
      );
      body.replaceChildren();
      if (data.refused) {
        message.textContent = `Das Datenschutzcockpit lehnt ab: ${data.refused.text}.`;
      } else {
        message.textContent = data.transfers.length
          ? `${data.transfers.length} Übermittlung(en) zu ${person.name}.`
          : `Zu ${person.name} wurde bisher nichts übermittelt.`;
      }
      const SYMBOL = { ok: "✓", offen: "⏱", abgelehnt: "✗" };
      for (const transfer of data.transfers) {
        const kind = transfer.outcome === "delivered" ? "ok" : transfer.outcome === "pending" ? "offen" : "abgelehnt";
        const parties = el("ul", { class: "protokoll klein", "aria-label": "Protokolliert von" },
          ...transfer.records.filter((r) => !r.refusedRepetition).map((r) =>
            el("li", {}, `${r.partyName}: ${r.outcomeText} · ${r.timeText}`)),
          ...transfer.records.filter((r) => r.refusedRepetition).map((r) =>
            el("li", { class: "wiederholung" }, `Wiederholung abgewiesen · ${r.timeText} · ${r.partyName}: ${r.outcomeText}`)));
        body.append(el("tr", { class: "uebermittlung" },
          el("td", { "data-label": "Zeitpunkt" }, transfer.timeText),
          el("td", { "data-label": "Abrufende Stelle" }, transfer.consumer.name, el("br"), el("code", {}, transfer.consumer.participantId)),
          el("td", { "data-label": "Datenhalter" }, transfer.provider.name),
          el("td", { "data-label": "Nachweis" }, transfer.evidenceTitle),
          el("td", { "data-label": "Zweck" }, transfer.purpose),
          el("td", { "data-label": "Ergebnis und Protokoll" },
            el("span", { class: "ausgang " + kind }, el("span", { "aria-hidden": "true" }, SYMBOL[kind]), " " + transfer.outcomeText),
            parties)));
      }
      result.hidden = false;
    } catch (error) {
      message.textContent = "Fehler: " + error.message;
    } finally {
      button.disabled = false;
    }
  });
})();
