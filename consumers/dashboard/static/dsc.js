/* Datenschutzcockpit: log in as a test citizen through the dashboard and list the transfers. */
"use strict";

(function () {
  const { el, json } = window.noots;
  const form = document.getElementById("dsc-form");
  const message = document.getElementById("dsc-meldung");
  const result = document.getElementById("dsc-ergebnis");
  const info = document.getElementById("dsc-person-info");
  const body = document.querySelector("#dsc-tabelle tbody");

  function when(text) {
    const date = new Date(text);
    return isNaN(date) ? text : date.toLocaleString("de-DE", { timeZone: "UTC" });
  }

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
        el("strong", {}, person.name), ` (IDNr ${person.idnr}), Vertrauensniveau ${person.level}. `,
        el("span", { class: person.check.ok ? "ok-text" : "fehler-text" }, person.check.text)
      );
      body.replaceChildren();
      if (data.refused) {
        message.textContent = `Das Datenschutzcockpit lehnt ab (HTTP ${data.refused.status}): ${data.refused.detail}`;
      } else {
        message.textContent = data.transfers.length
          ? `${data.transfers.length} Übermittlung(en) zu ${person.name}.`
          : `Zu ${person.name} wurde bisher nichts übermittelt.`;
      }
      for (const transfer of data.transfers) {
        const parties = transfer.records.map((r) => `${r.partyName} (${r.outcome})`).join(", ");
        const ok = transfer.outcome === "delivered";
        body.append(el("tr", { class: "uebermittlung" },
          el("td", {}, when(transfer.time)),
          el("td", {}, transfer.consumer.name, el("br"), el("code", {}, transfer.consumer.participantId)),
          el("td", {}, transfer.provider.name),
          el("td", {}, transfer.evidenceTitle),
          el("td", {}, transfer.purpose),
          el("td", { class: ok ? "ok-text" : "fehler-text" }, transfer.outcomeText),
          el("td", { class: "klein" }, parties)));
      }
      result.hidden = false;
    } catch (error) {
      message.textContent = "Fehler: " + error.message;
    } finally {
      button.disabled = false;
    }
  });
})();
