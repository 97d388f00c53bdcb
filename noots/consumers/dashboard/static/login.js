/* The one-click login: the link of `noots up` carries the operator token in the fragment
   (#token=…), which the browser never sends anywhere. Post it once, then forget it. */
"use strict";

(function () {
  const form = document.getElementById("anmelde-form");
  const match = /^#token=([A-Za-z0-9_-]{32,512})$/.exec(window.location.hash);
  // Out of the address bar and the history, whatever happens next.
  if (window.location.hash) history.replaceState(null, "", window.location.pathname + window.location.search);
  if (!form || !match) return;
  // A failed attempt must not loop: the page then answers with the form and its message.
  if (document.getElementById("anmelde-fehler")) return;
  form.elements.token.value = match[1];
  form.submit();
})();
