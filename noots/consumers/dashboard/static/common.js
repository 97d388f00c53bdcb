/* Shared helpers of the dashboard pages. Everything from the server is inserted as text. */
"use strict";

window.noots = (function () {
  /** Build an element: el("p", {class: "x"}, "text", child, ...). */
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** The CSRF token of the operator's session (the page carries it; a foreign site cannot read it). */
  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : null;
  }

  async function json(url, options) {
    const init = Object.assign({ headers: {}, credentials: "same-origin" }, options || {});
    if (init.body !== undefined && typeof init.body !== "string") {
      init.body = JSON.stringify(init.body);
      init.headers["Content-Type"] = "application/json";
    }
    const method = (init.method || "GET").toUpperCase();
    if (!["GET", "HEAD"].includes(method) && csrfToken()) init.headers["X-CSRF-Token"] = csrfToken();
    const response = await fetch(url, init);
    if (response.status === 401) {
      // The login has expired (or the dashboard restarted): log in again, then come back.
      window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname));
    }
    let data = null;
    try { data = await response.json(); } catch (error) { data = null; }
    if (!response.ok) {
      const detail = data && data.detail ? (typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail)) : "HTTP " + response.status;
      const failure = new Error(detail);
      failure.status = response.status;
      failure.data = data;
      throw failure;
    }
    return data;
  }

  function keyValueTable(rows, caption) {
    const table = el("table", { class: "kv" });
    if (caption) table.append(el("caption", { class: "sr-only" }, caption));
    const body = el("tbody");
    for (const [key, value] of rows) body.append(el("tr", {}, el("th", { scope: "row" }, key), el("td", {}, value)));
    table.append(body);
    return table;
  }

  return { el, json, keyValueTable };
})();
