// Kiosk idle timeout: after the session's minutes without input, back to the login screen.
// While the feldsher works, the server session is kept alive (at most one ping a minute).
(function () {
  const script = document.currentScript;
  const minutes = parseFloat((script && script.dataset.minutes) || "30");
  const loginUrl = (script && script.dataset.login) || "/login";
  const logoutUrl = (script && script.dataset.logout) || "/logout";
  const pingUrl = (script && script.dataset.ping) || "/keepalive";
  const idleMs = minutes * 60000;
  let timer = null;
  let lastPing = Date.now();

  function leave() {
    const body = new URLSearchParams({csrf_token: (window.faplink && window.faplink.csrf) || "", reason: "idle"});
    fetch(logoutUrl, {method: "POST", body, credentials: "same-origin", redirect: "manual"})
      .catch(() => null)
      .finally(() => { window.location.replace(loginUrl + "?reason=idle"); });
  }

  function ping() {
    lastPing = Date.now();
    fetch(pingUrl, {credentials: "same-origin", redirect: "manual"}).then((response) => {
      // An expired session answers with a redirect to the login page.
      if (response.type === "opaqueredirect" || response.status === 401) { window.location.replace(loginUrl); }
    }).catch(() => null);
  }

  function activity() {
    clearTimeout(timer);
    timer = setTimeout(leave, idleMs);
    if (Date.now() - lastPing > Math.min(60000, idleMs / 2)) { ping(); }
  }

  ["mousemove", "mousedown", "keydown", "touchstart", "wheel", "scroll", "input"].forEach((name) => {
    window.addEventListener(name, activity, {passive: true, capture: true});
  });
  activity();
  window.faplinkIdle = {reset: activity, timeoutMs: idleMs};
})();
