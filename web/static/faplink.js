// Small helpers shared by both apps; pages work without them.
(function () {
  const token = document.querySelector('meta[name="csrf-token"]');
  window.faplink = {
    csrf: token ? token.content : "",
    async api(method, url, body) {
      const response = await fetch(url, {
        method,
        headers: {"Content-Type": "application/json", "X-CSRF-Token": window.faplink.csrf},
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
      });
      const data = await response.json().catch(() => ({}));
      if (!response.ok) { throw new Error(data.message || response.statusText); }
      return data;
    },
  };
  // Confirm buttons that ask for it: <button data-confirm="…">.
  document.addEventListener("click", (event) => {
    const el = event.target.closest("[data-confirm]");
    if (el && !window.confirm(el.dataset.confirm)) { event.preventDefault(); }
  });
  // Selects that submit their form when changed: <select data-autosubmit> (no inline handlers:
  // the Content-Security-Policy runs no inline script without the page's nonce).
  document.addEventListener("change", (event) => {
    const el = event.target.closest("[data-autosubmit]");
    if (el && el.form) { el.form.submit(); }
  });
})();
