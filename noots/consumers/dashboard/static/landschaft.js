/* Landschaft: poll the health of every component and show it (text and symbol, not colour alone). */
"use strict";

(function () {
  const { json } = window.noots;
  const label = { healthy: "gesund", degraded: "gestört", unreachable: "nicht erreichbar" };
  const symbol = { healthy: "✓", degraded: "✗", unreachable: "✗" };
  const stand = document.getElementById("zustand-stand");

  async function poll() {
    try {
      const data = await json("/api/v1/health");
      let healthy = 0;
      for (const component of data.components) {
        const row = document.querySelector(`tr[data-component="${CSS.escape(component.name)}"]`);
        if (!row) continue;
        const cell = row.querySelector(".zustand");
        cell.dataset.status = component.status;
        cell.querySelector(".symbol").textContent = symbol[component.status] || "?";
        const time = component.status === "unreachable" ? "" : ` (${Math.round(component.millis)} ms)`;
        cell.querySelector(".zustand-text").textContent =
          (label[component.status] || component.status) + time + (component.status === "healthy" ? "" : " – " + component.detail);
        if (component.status === "healthy") healthy += 1;
      }
      stand.textContent = `${healthy} von ${data.components.length} Komponenten gesund · Stand ${data.checkedAt}`;
    } catch (error) {
      stand.textContent = "Zustand konnte nicht abgefragt werden: " + error.message;
    }
  }

  poll();
  setInterval(poll, 5000);
})();
