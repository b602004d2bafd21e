// Video and audio calls about one appeal: the same script on the consultant's page (central)
// and on the kiosk (its node), each talking to its own server's Socket.IO (faplink.socket()).
//
// Signalling: call:join, call:place, call:answer, call:decline, call:hangup, call:signal from
// the page; call:incoming, call:accepted, call:taken, call:signal, call:ended from the server.
// Media: WebRTC with the ICE servers the page's own server gives (data-ice-servers).
//
// A call that degrades drops video before audio: every few seconds the outgoing bitrate the
// link allows, the packet loss and the round trip are read from getStats(); when video cannot
// go on, both sides stop sending it, say so, and keep talking.
(function () {
  "use strict";
  const faplink = window.faplink || (window.faplink = {});

  // Below these, video is dropped (tests and field engineers may adjust window.faplinkCallTuning).
  const TUNING = {
    statsEveryMs: 2000,
    minVideoBps: 150000,  // outgoing bitrate the link allows (bandwidth estimate)
    maxLoss: 0.1,         // fraction of packets the other side reports lost
    maxRttMs: 1500,       // round trip
    badSamples: 2,        // consecutive bad readings before video is dropped
  };

  function tuning() { return Object.assign({}, TUNING, window.faplinkCallTuning || {}); }

  // What one getStats() report says about the link; missing figures stay null.
  faplink.linkSample = function (report) {
    const sample = {availableBps: null, rttMs: null, loss: null};
    let pair = null;
    report.forEach(function (stat) {
      if (stat.type === "transport" && stat.selectedCandidatePairId) { pair = report.get(stat.selectedCandidatePairId); }
    });
    if (!pair) {
      report.forEach(function (stat) {
        if (stat.type === "candidate-pair" && stat.nominated && stat.state === "succeeded") { pair = stat; }
      });
    }
    if (pair) {
      if (typeof pair.availableOutgoingBitrate === "number") { sample.availableBps = pair.availableOutgoingBitrate; }
      if (typeof pair.currentRoundTripTime === "number") { sample.rttMs = pair.currentRoundTripTime * 1000; }
    }
    report.forEach(function (stat) {
      if (stat.type === "remote-inbound-rtp") {
        if (typeof stat.fractionLost === "number") { sample.loss = Math.max(sample.loss || 0, stat.fractionLost); }
        if (sample.rttMs === null && typeof stat.roundTripTime === "number") { sample.rttMs = stat.roundTripTime * 1000; }
      }
    });
    return sample;
  };

  // Why video cannot go on over this link, or null if it can.
  faplink.videoVerdict = function (sample, limits) {
    limits = limits || tuning();
    if (sample.availableBps !== null && sample.availableBps < limits.minVideoBps) { return "bitrate"; }
    if (sample.loss !== null && sample.loss > limits.maxLoss) { return "loss"; }
    if (sample.rttMs !== null && sample.rttMs > limits.maxRttMs) { return "rtt"; }
    return null;
  };

  function ack(io, event, data) {
    return new Promise(function (resolve) {
      let done = false;
      const timer = setTimeout(function () { if (!done) { done = true; resolve({ok: false, message: ""}); } }, 15000);
      io.emit(event, data, function (reply) {
        if (done) { return; }
        done = true;
        clearTimeout(timer);
        resolve(reply || {ok: false, message: ""});
      });
    });
  }

  faplink.calls = function (panel) {
    const io = faplink.socket ? faplink.socket() : (window.io ? window.io() : null);
    if (!io || !panel) { return null; }
    const appeal = panel.dataset.appeal;
    const iceServers = JSON.parse(panel.dataset.iceServers || "[]");
    const text = JSON.parse(panel.dataset.strings || "{}");
    const buttons = Array.from(document.querySelectorAll("[data-call-mode]"));
    const el = {
      title: panel.querySelector(".call-title"),
      status: panel.querySelector(".call-status"),
      remote: panel.querySelector(".call-remote"),
      local: panel.querySelector(".call-local"),
      notice: panel.querySelector(".call-notice"),
      incoming: panel.querySelector(".call-incoming"),
      controls: panel.querySelector(".call-controls"),
      mic: panel.querySelector("[data-call-action=mic]"),
      camera: panel.querySelector("[data-call-action=camera]"),
      message: document.getElementById("call-message"),
      log: document.getElementById("call-log"),
    };
    let joined = false;
    let call = null;  // {id, mode, role: "caller"|"callee", pc, local, pending: [], monitor, bad, videoDropped}
    const api = {
      get call() { return call; },
      get pc() { return call ? call.pc : null; },
      lastPc: null,
    };
    window.faplinkCall = api;

    // -- what the page shows ----------------------------------------------------------

    function refreshButtons() {
      for (const button of buttons) {
        button.disabled = !joined || call !== null || button.dataset.callBlocked !== undefined;
      }
    }

    function say(message) {
      if (!el.message) { return; }
      el.message.textContent = message || "";
      el.message.hidden = !message;
    }

    // While a call is on, the panel docks at the window's right edge below the page's header
    // (calls.css: body.call-open) and the page narrows beside it: nothing of the appeal, the
    // patient's card included, lies under the video.
    function dockTop() {
      const content = document.querySelector("main.content");
      const top = content ? Math.max(0, content.getBoundingClientRect().top) : 0;
      document.body.style.setProperty("--call-top", top + "px");
    }
    function dock(open) {
      document.body.classList.toggle("call-open", open);
      if (open) { dockTop(); window.addEventListener("scroll", dockTop, {passive: true}); }
      else { window.removeEventListener("scroll", dockTop); }
    }

    function show(title, status) {
      panel.hidden = false;
      dock(true);
      el.title.textContent = title;
      el.status.textContent = status || "";
      say("");
    }

    function notice(message) {
      el.notice.textContent = message;
      el.notice.hidden = !message;
    }

    const refreshLog = (function () {
      let timer = null;
      async function load() {
        if (!el.log) { return; }
        try {
          const response = await fetch(el.log.dataset.url, {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}});
          if (response.ok) { el.log.innerHTML = await response.text(); }
        } catch (err) { /* a later event will do */ }
      }
      return function () { clearTimeout(timer); timer = setTimeout(load, 200); };
    })();

    // -- media --------------------------------------------------------------------------

    async function media(mode) {
      return navigator.mediaDevices.getUserMedia({audio: true, video: mode === "video"});
    }

    function peer() {
      const pc = new RTCPeerConnection({iceServers: iceServers});
      const current = call;
      pc.onicecandidate = function (event) {
        if (event.candidate && current.id) { signal(current, {candidate: event.candidate.toJSON()}); }
      };
      pc.ontrack = function (event) {
        const stream = event.streams[0] || new MediaStream([event.track]);
        if (el.remote.srcObject !== stream) { el.remote.srcObject = stream; }
      };
      pc.onconnectionstatechange = function () {
        if (call !== current) { return; }
        if (pc.connectionState === "connected") {
          el.status.textContent = current.mode === "video" ? text.in_call_video : text.in_call_audio;
          startMonitor(current);
        } else if (pc.connectionState === "failed") {
          hangup(true);
        }
      };
      for (const track of current.local.getTracks()) { pc.addTrack(track, current.local); }
      current.pc = pc;
      api.lastPc = pc;
      window.faplinkPc = pc;
      return pc;
    }

    async function prioritiseAudio(pc) {
      // When the link is short, the browser should starve video before audio.
      for (const sender of pc.getSenders()) {
        if (!sender.track) { continue; }
        try {
          const params = sender.getParameters();
          if (!params.encodings || !params.encodings.length) { continue; }
          for (const encoding of params.encodings) {
            encoding.priority = sender.track.kind === "audio" ? "high" : "low";
            encoding.networkPriority = encoding.priority;
          }
          await sender.setParameters(params);
        } catch (err) { /* not every browser lets us: the monitor still drops video */ }
      }
    }

    function signal(current, data) {
      if (current && current.id) { io.emit("call:signal", {call: current.id, data: data}); }
    }

    async function onSignal(event) {
      if (!call || event.call !== call.id || !call.pc) { return; }
      const current = call;
      const pc = current.pc;
      const data = event.data || {};
      try {
        if (data.sdp) {
          await pc.setRemoteDescription(data.sdp);
          for (const candidate of current.pending.splice(0)) { await pc.addIceCandidate(candidate); }
          if (data.sdp.type === "offer") {
            await pc.setLocalDescription(await pc.createAnswer());
            signal(current, {sdp: pc.localDescription.toJSON()});
            prioritiseAudio(pc);
          }
        } else if (data.candidate) {
          if (pc.remoteDescription) { await pc.addIceCandidate(data.candidate); } else { current.pending.push(data.candidate); }
        } else if (data.video === "off") {
          dropVideo(current, false);
        }
      } catch (err) {
        console.warn("call signal", err);
      }
    }

    // -- mid-call degradation: drop video, keep audio -----------------------------------------

    function startMonitor(current) {
      if (current.monitor || current.mode !== "video") { return; }
      current.bad = 0;
      const step = async function () {
        if (call !== current || current.videoDropped) { return; }
        const limits = tuning();
        try {
          const sample = faplink.linkSample(await current.pc.getStats());
          current.lastSample = sample;
          current.bad = faplink.videoVerdict(sample, limits) ? current.bad + 1 : 0;
          if (current.bad >= limits.badSamples) { dropVideo(current, true); return; }
        } catch (err) { /* the connection is closing */ }
        current.monitor = setTimeout(step, limits.statsEveryMs);
      };
      current.monitor = setTimeout(step, tuning().statsEveryMs);
    }

    function dropVideo(current, tellOther) {
      if (current.videoDropped) { return; }
      current.videoDropped = true;
      for (const sender of current.pc ? current.pc.getSenders() : []) {
        if (sender.track && sender.track.kind === "video") { sender.replaceTrack(null).catch(function () {}); }
      }
      for (const track of current.local.getVideoTracks()) { track.stop(); }
      el.local.hidden = true;
      el.camera.hidden = true;
      notice(text.video_dropped);
      if (tellOther) { signal(current, {video: "off", reason: "weak_link"}); }
    }

    // -- the call's course ------------------------------------------------------------------

    function begin(id, mode, role, local) {
      call = {id: id, mode: mode, role: role, pc: null, local: local, pending: [], monitor: null, videoDropped: false};
      el.local.srcObject = local;
      el.local.hidden = mode !== "video" || !local;
      el.remote.hidden = mode !== "video";
      el.camera.hidden = mode !== "video";
      el.mic.textContent = text.mic_off;
      el.camera.textContent = text.cam_off;
      notice("");
      refreshButtons();
      return call;
    }

    function finish(message) {
      const current = call;
      call = null;
      if (current) {
        clearTimeout(current.monitor);
        if (current.pc) { current.pc.close(); }
        if (current.local) { for (const track of current.local.getTracks()) { track.stop(); } }
      }
      el.remote.srcObject = null;
      el.local.srcObject = null;
      el.incoming.hidden = true;
      el.controls.hidden = true;
      panel.hidden = true;
      dock(false);
      notice("");
      say(message);
      refreshButtons();
      refreshLog();
    }

    async function place(mode) {
      if (call || !joined) { return; }
      call = {placing: true};
      refreshButtons();
      let local;
      try {
        local = await media(mode);
      } catch (err) {
        call = null;
        refreshButtons();
        say(text.no_devices + ": " + err.message);
        return;
      }
      const current = begin(null, mode, "caller", local);
      show(mode === "video" ? buttonLabel("video") : buttonLabel("audio"), text.calling);
      el.controls.hidden = false;
      const reply = await ack(io, "call:place", {appeal: appeal, mode: mode});
      if (call !== current) { return; }
      if (!reply.ok) { finish(reply.message); return; }
      if (!current.id) { current.id = reply.call; }
    }

    function buttonLabel(mode) {
      const button = buttons.find(function (b) { return b.dataset.callMode === mode; });
      return button ? button.textContent.trim() : "";
    }

    async function onAccepted(event) {
      // The other side took our call: we make the offer.
      if (!call || call.role !== "caller") { return; }
      if (!call.id) { call.id = event.call; }  // the answer came before our placing was acknowledged
      if (event.call !== call.id) { return; }
      const current = call;
      el.status.textContent = text.connecting;
      const pc = peer();
      await pc.setLocalDescription(await pc.createOffer());
      if (call === current) {
        signal(current, {sdp: pc.localDescription.toJSON()});
        prioritiseAudio(pc);
      }
    }

    function onIncoming(event) {
      if (event.appeal !== appeal || call) { return; }
      call = {id: event.call, mode: event.mode, role: "ringing", caller: event.caller};
      refreshButtons();
      show(event.mode === "video" ? text.incoming_video : text.incoming_audio, event.caller || "");
      el.local.hidden = true;
      el.remote.hidden = true;
      el.incoming.hidden = false;
      el.controls.hidden = true;
    }

    async function accept() {
      if (!call || call.role !== "ringing") { return; }
      const ringing = call;
      el.incoming.hidden = true;
      let local;
      try {
        local = await media(ringing.mode);
      } catch (err) {
        io.emit("call:hangup", {call: ringing.id, failed: true});
        finish(text.no_devices + ": " + err.message);
        return;
      }
      if (call !== ringing) { for (const track of local.getTracks()) { track.stop(); } return; }
      const current = begin(ringing.id, ringing.mode, "callee", local);
      // Answered: no longer «Входящий …», but the call it is, as the caller's panel names it.
      show(buttonLabel(ringing.mode) || (ringing.mode === "video" ? text.incoming_video : text.incoming_audio),
           (ringing.caller ? ringing.caller + " · " : "") + text.connecting);
      el.controls.hidden = false;
      peer();
      const reply = await ack(io, "call:answer", {call: current.id});
      if (call === current && !reply.ok) { finish(reply.message); }
    }

    function decline() {
      if (!call || call.role !== "ringing") { return; }
      io.emit("call:decline", {call: call.id});
      el.incoming.hidden = true;
    }

    function hangup(failed) {
      if (!call) { return; }
      if (call.id) { io.emit("call:hangup", {call: call.id, failed: !!failed}); }
      finish(failed ? text.failed : text.completed);
    }

    function onEnded(event) {
      if (event.appeal === appeal) { refreshLog(); }
      if (!call || event.call !== call.id) { return; }
      // A detail says a connection went down (the other side's, or the post's link to central).
      finish(event.detail ? text.peer_lost : (text[event.outcome] || text.completed));
    }

    function onTaken(event) {
      if (call && call.role === "ringing" && event.call === call.id) { finish(text.taken_elsewhere); }
    }

    function toggle(kind) {
      if (!call || !call.local) { return; }
      const tracks = kind === "audio" ? call.local.getAudioTracks() : call.local.getVideoTracks();
      const on = !(tracks.length && tracks[0].enabled);
      for (const track of tracks) { track.enabled = on; }
      if (kind === "audio") { el.mic.textContent = on ? text.mic_off : text.mic_on; }
      else { el.camera.textContent = on ? text.cam_off : text.cam_on; }
    }

    // -- wiring ----------------------------------------------------------------------------------

    for (const button of buttons) {
      button.addEventListener("click", function () { place(button.dataset.callMode); });
    }
    panel.querySelector("[data-call-action=accept]").addEventListener("click", accept);
    panel.querySelector("[data-call-action=decline]").addEventListener("click", decline);
    panel.querySelector("[data-call-action=hangup]").addEventListener("click", function () { hangup(false); });
    el.mic.addEventListener("click", function () { toggle("audio"); });
    el.camera.addEventListener("click", function () { toggle("video"); });
    window.addEventListener("pagehide", function () { if (call && call.id) { io.emit("call:hangup", {call: call.id}); } });

    function join() {
      io.emit("call:join", {appeal: appeal}, function (reply) {
        joined = !!(reply && reply.ok);
        refreshButtons();
      });
    }
    io.on("connect", join);
    io.on("disconnect", function () {
      joined = false;
      if (call) { finish(text.lost); } else { refreshButtons(); }
    });
    io.on("call:incoming", onIncoming);
    io.on("call:accepted", onAccepted);
    io.on("call:signal", onSignal);
    io.on("call:taken", onTaken);
    io.on("call:ended", onEnded);
    io.on("calls", function (event) { if (event.appeal === appeal) { refreshLog(); } });
    io.on("synced", refreshLog);  // the kiosk: the centre's calls arrive with the sync
    if (io.connected) { join(); }
    return api;
  };

  const panel = document.getElementById("call-panel");
  if (panel) { faplink.calls(panel); }
})();
