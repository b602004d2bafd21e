// The kiosk's pages for exams and files: previews in a dialog, webcam photos, files staged
// in the «Записать пациента» wizard, live device readings. Every form also works without it.
(function () {
  "use strict";
  const csrf = () => (window.faplink && window.faplink.csrf) || "";

  async function upload(url, file, kind) {
    const body = new FormData();
    body.append("file", file, file.name);
    body.append("kind", kind || "file");
    const response = await fetch(url, {method: "POST", body, credentials: "same-origin",
                                       headers: {"X-CSRF-Token": csrf()}});
    const data = await response.json().catch(() => ({}));
    if (!response.ok) { throw new Error(data.message || response.statusText); }
    return data;
  }

  function showError(box, message) {
    if (!box) { window.alert(message); return; }
    box.textContent = message;
    box.hidden = !message;
  }

  // -- previews in a dialog, so that a half-filled form stays as it is --------------------
  function openPreview(url, title) {
    let dialog = document.getElementById("preview-dialog");
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.id = "preview-dialog";
      dialog.className = "preview-dialog";
      dialog.innerHTML = '<div class="preview-head"><strong></strong><button type="button" class="preview-close"></button></div><iframe></iframe>';
      dialog.querySelector(".preview-close").textContent = document.body.dataset.closeLabel || "Закрыть";
      dialog.querySelector(".preview-close").addEventListener("click", () => dialog.close());
      document.body.appendChild(dialog);
    }
    dialog.querySelector("strong").textContent = title || "";
    dialog.querySelector("iframe").src = url + (url.includes("?") ? "&" : "?") + "embed=1";
    dialog.querySelector("iframe").title = title || "";
    dialog.showModal();
  }
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-preview]");
    if (!link || !window.HTMLDialogElement) { return; }
    event.preventDefault();
    openPreview(link.getAttribute("href"), link.dataset.title || link.textContent.trim());
  });

  // -- files staged in a wizard (hidden JSON field + list) --------------------------------
  function stagedList(root) {
    const field = root.querySelector("input[name=files]");
    let items = [];
    try { items = JSON.parse(field.value || "[]"); } catch (e) { items = []; }
    const save = () => { field.value = items.length ? JSON.stringify(items) : ""; };
    const list = root.querySelector(".staged-files");
    const add = (item) => {
      if (items.some((x) => x.sha256 === item.sha256)) { return; }
      items.push({sha256: item.sha256, filename: item.filename, kind: item.kind,
                  content_type: item.content_type, size: item.size});
      save();
      const li = document.createElement("li");
      li.dataset.sha = item.sha256;
      const a = document.createElement("a");
      a.href = item.preview_url; a.dataset.preview = ""; a.textContent = item.filename;
      const size = document.createElement("span");
      size.className = "muted"; size.textContent = " " + Math.max(1, Math.round(item.size / 1024)) + " КБ ";
      const remove = document.createElement("button");
      remove.type = "submit"; remove.name = "remove"; remove.value = item.sha256; remove.className = "linklike";
      remove.textContent = root.dataset.removeLabel || "Удалить";
      li.append(a, size, remove);
      list.appendChild(li);
    };
    list.addEventListener("click", (event) => {
      const button = event.target.closest("button[name=remove]");
      if (!button) { return; }
      event.preventDefault();
      items = items.filter((x) => x.sha256 !== button.value);
      save();
      button.closest("li").remove();
    });
    return {add};
  }

  document.querySelectorAll("[data-stage-url]").forEach((root) => {
    const staged = stagedList(root);
    const input = root.querySelector("input[type=file]");
    const error = root.querySelector(".upload-error");
    root.staged = staged;
    input.addEventListener("change", async () => {
      showError(error, "");
      const chosen = Array.from(input.files);
      input.value = "";  // staged now: the form must not send the bytes again
      for (const file of chosen) {
        try { staged.add(await upload(root.dataset.stageUrl, file, "file")); }
        catch (e) { showError(error, e.message); }
      }
    });
  });

  // -- the exam page's upload without a page round trip ------------------------------------
  document.querySelectorAll("form[data-attach-url]").forEach((form) => {
    const input = form.querySelector("input[type=file]");
    const error = form.querySelector(".upload-error");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      showError(error, "");
      let ok = 0;
      for (const file of Array.from(input.files)) {
        try { await upload(form.dataset.attachUrl, file, "file"); ok += 1; }
        catch (e) { showError(error, e.message); }
      }
      input.value = "";
      if (ok && (!error || error.hidden)) { window.location.reload(); }
    });
  });

  // -- webcam photos --------------------------------------------------------------------------
  document.querySelectorAll(".camera").forEach((widget) => {
    const view = widget.querySelector(".camera-view");
    const video = widget.querySelector("video");
    const canvas = widget.querySelector("canvas");
    const error = widget.querySelector(".camera-error");
    let stream = null;
    const close = () => {
      if (stream) { stream.getTracks().forEach((t) => t.stop()); stream = null; }
      view.hidden = true;
    };
    widget.querySelector(".camera-open").addEventListener("click", async () => {
      showError(error, "");
      try {
        stream = await navigator.mediaDevices.getUserMedia({video: {width: 1280, height: 720}, audio: false});
        video.srcObject = stream;
        view.hidden = false;
      } catch (e) {
        showError(error, widget.dataset.noCamera + " (" + e.name + ")");
      }
    });
    widget.querySelector(".camera-close").addEventListener("click", close);
    widget.querySelector(".camera-shoot").addEventListener("click", () => {
      canvas.width = video.videoWidth || 640;
      canvas.height = video.videoHeight || 480;
      canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(async (blob) => {
        const file = new File([blob], "photo.jpg", {type: "image/jpeg"});
        try {
          const item = await upload(widget.dataset.upload, file, "photo");
          close();
          const stage = widget.closest("[data-stage-url]");
          if (stage && stage.staged) { stage.staged.add(item); } else { window.location.reload(); }
        } catch (e) { showError(error, e.message); }
      }, "image/jpeg", 0.9);
    });
  });

  // -- device readings: «Взять показание» fills the row; live values arrive over Socket.IO ---
  const examForm = document.querySelector("form[data-readings]");
  if (!examForm) { return; }
  const latest = {};
  function row(code) { return examForm.querySelector('tr[data-loinc="' + code + '"]'); }
  function showReading(reading) {
    const tr = row(reading.loinc);
    if (!tr) { return; }
    latest[reading.loinc] = reading;
    const when = new Date(reading.taken_at).toLocaleTimeString(
      "ru-RU", {hour: "2-digit", minute: "2-digit", timeZone: examForm.dataset.timezone || undefined});
    tr.querySelector(".reading-value").textContent =
      String(reading.value).replace(".", ",") + " " + reading.unit_label + " · " + reading.device + " · " + when;
    tr.querySelector("button.take").disabled = false;
  }
  JSON.parse(examForm.dataset.readings || "[]").forEach(showReading);
  examForm.addEventListener("click", (event) => {
    const button = event.target.closest("button.take");
    if (!button) { return; }
    const reading = latest[button.value];
    if (!reading) { return; }  // the server answers with a clear message
    event.preventDefault();
    const tr = row(button.value);
    const set = (name, value) => { const el = tr.querySelector('[name="' + name + "_" + button.value + '"]'); if (el) { el.value = value; } };
    set("value", String(reading.value).replace(".", ","));
    set("unit", reading.unit);
    set("device", reading.device);
    set("serial", reading.device_serial);
    set("at", reading.taken_at);
    tr.querySelector(".source").textContent = reading.device + (reading.device_serial ? " № " + reading.device_serial : "");
  });
  examForm.addEventListener("input", (event) => {
    // A value typed by hand is no longer the device's.
    const input = event.target;
    if (!input.name || !input.name.startsWith("value_")) { return; }
    const code = input.name.slice(6);
    const tr = row(code);
    ["device", "serial", "at"].forEach((name) => { const el = tr.querySelector('[name="' + name + "_" + code + '"]'); if (el) { el.value = ""; } });
    tr.querySelector(".source").textContent = examForm.dataset.manualLabel || "";
  });

  // A minimal Socket.IO (Engine.IO v4) client over WebSocket: no library to ship.
  function listen(delay) {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(scheme + window.location.host + "/socket.io/?EIO=4&transport=websocket");
    const prefix = "42/devices,";
    ws.onmessage = (message) => {
      const data = String(message.data);
      if (data[0] === "0") { ws.send("40/devices,"); }
      else if (data === "2") { ws.send("3"); }
      else if (data.startsWith(prefix)) {
        const [name, payload] = JSON.parse(data.slice(prefix.length));
        if (name === "reading") { showReading(payload); }
      }
    };
    ws.onclose = () => { setTimeout(() => listen(Math.min(delay * 2, 30000)), delay); };
  }
  if (window.WebSocket) { listen(1000); }
})();
