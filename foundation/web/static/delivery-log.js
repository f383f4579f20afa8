/* The project activity log's sending: a saved activity is first kept in the phone's outbox (outbox.js), then sent;
   with no signal it stays queued and is sent when the signal returns. The activity's client id makes a resend safe:
   the server answers a repeat with the activity it already stored. */
(function () {
  "use strict";
  var user = document.body.dataset.user || "";
  var csrf = (function () {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrftoken"] || ""; } catch (e) { return ""; }
  })();
  var lastSent = 0;

  var outbox = window.PhoneOutbox("delivery-outbox", user), all = outbox.all, put = outbox.put, remove = outbox.remove;
  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16); crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }

  function sendEntry(entry) {
    var body = {
      client_id: entry.client_id, delegation_id: entry.delegation_id, indicator_number: entry.indicator_number, held_on: entry.held_on,
      place: entry.place, beneficiary_ids: entry.beneficiary_ids, note: entry.note, volunteers: entry.volunteers || []
    };
    if (entry.head_count !== null) body.head_count = entry.head_count;
    /* Photos first, one by one (as the patrol sends them): each uploaded photo keeps its id in the outbox, so a resend
       uploads only those not sent yet; then the activity naming them. */
    var chain = Promise.resolve();
    (entry.photos || []).forEach(function (photo) {
      chain = chain.then(function () {
        if (photo.id) return;
        var form = new FormData();
        form.append("file", photo.blob, photo.name || "photo.jpg");
        return fetch("/community/delivery/log/photos", { method: "POST", credentials: "same-origin", redirect: "manual", headers: { "x-csrftoken": csrf }, body: form }).then(function (response) {
          if (response.status === 201) return response.json().then(function (answer) { photo.id = answer.id; return put(entry); });
          throw response;
        });
      });
    });
    return outbox.settle(entry, chain.then(function () {
      body.photo_ids = (entry.photos || []).map(function (p) { return p.id; });
      return fetch("/community/delivery/log/records", {
        method: "POST", credentials: "same-origin", redirect: "manual",
        headers: { "content-type": "application/json", "x-csrftoken": csrf }, body: JSON.stringify(body)
      });
    }), "服务器拒绝了这条活动记录");
  }
  function flush() {
    return outbox.flush(sendEntry, function (entry) {
      lastSent += 1; document.dispatchEvent(new CustomEvent("activity-sent", { detail: entry.client_id }));
    }).then(render);
  }
  function render() {
    var box = document.getElementById("outbox");
    if (!box) return Promise.resolve();
    return all().then(function (entries) {
      var summary = document.getElementById("outbox-summary"), list = document.getElementById("outbox-items");
      list.innerHTML = "";
      var waiting = entries.filter(function (e) { return e.state === "waiting"; }).length, refused = entries.length - waiting;
      if (!entries.length) { box.hidden = lastSent === 0; summary.textContent = "全部活动记录已发送（本次发送 " + lastSent + " 条）"; return; }
      box.hidden = false;
      var parts = [];
      if (waiting) parts.push(waiting + " 条活动记录等待发送" + (navigator.onLine ? "" : "（当前无网络，已保存在手机上）"));
      if (refused) parts.push(refused + " 条活动记录被退回，请查看原因");
      summary.textContent = parts.join("；");
      entries.forEach(function (e) {
        var li = document.createElement("li");
        li.textContent = e.project + " · " + e.held_on + " · " + e.place + " · " + (e.state === "waiting" ? "等待发送" : "被退回") + (e.message ? "：" + e.message : "");
        if (e.state === "refused") {
          var drop = document.createElement("button");
          drop.type = "button"; drop.textContent = "删除这条";
          drop.addEventListener("click", function () { remove(e.client_id).then(render); });
          li.appendChild(document.createTextNode(" ")); li.appendChild(drop);
        }
        list.appendChild(li);
      });
    });
  }

  function setUpForm(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      form.querySelectorAll("[data-error]").forEach(function (el) { el.hidden = true; el.textContent = ""; });
      var done = form.querySelector(".activity-done");
      done.hidden = true; done.textContent = "";
      var named = Array.prototype.map.call(form.querySelectorAll("input[name=beneficiary]:checked"), function (box) { return parseInt(box.value, 10); });
      var headText = form.elements.head_count.value.trim(), head = headText ? parseInt(headText, 10) : null;
      if (!form.elements.held_on.value) { show(form, "held_on", "请选择活动日期"); return; }
      if (form.elements.place.value.trim().length < 2) { show(form, "place", "请填写活动地点"); return; }
      if (head === null && !named.length) { show(form, "head_count", "请填写参与人数，或勾选参与的服务对象"); return; }
      if (head !== null && named.length) { show(form, "head_count", "参与人数与具名居民二选一"); return; }
      var volunteers = [], badMinutes = false;
      form.querySelectorAll("input[name=volunteer_minutes]").forEach(function (input) {
        var text = input.value.trim();
        if (!text) return;
        var minutes = parseInt(text, 10);
        if (!(minutes >= 1 && minutes <= 720)) badMinutes = true;
        volunteers.push({ volunteer_id: parseInt(input.dataset.volunteerId, 10), minutes: minutes });
      });
      if (badMinutes) { show(form, "volunteers", "志愿者服务时长应为 1 到 720 分钟"); return; }
      var picked = form.elements.photos ? Array.prototype.slice.call(form.elements.photos.files || []) : [];
      var maxPhotos = parseInt(form.dataset.maxPhotos || "0", 10);
      if (picked.length > maxPhotos) { show(form, "photo_ids", "每次活动最多 " + maxPhotos + " 张照片"); return; }
      var entry = {
        client_id: newClientId(), user: user, delegation_id: parseInt(form.dataset.delegationId, 10), project: form.dataset.project,
        indicator_number: parseInt(form.elements.indicator_number.value, 10), held_on: form.elements.held_on.value, place: form.elements.place.value.trim(),
        head_count: head, beneficiary_ids: named, volunteers: volunteers, photos: picked.map(function (f) { return { blob: f, name: f.name, id: null }; }), note: form.elements.note.value.trim(), state: "waiting", message: "", queued_at: new Date().toISOString()
      };
      put(entry).then(function () {
        done.hidden = false; done.textContent = "活动记录已保存在手机上，正在发送……";
        return flush();
      }).then(function () {
        return all().then(function (entries) {
          var mine = entries.filter(function (e) { return e.client_id === entry.client_id; })[0];
          if (!mine) { done.textContent = "活动记录已提交。"; form.elements.place.value = ""; form.elements.head_count.value = ""; form.elements.note.value = ""; form.querySelectorAll("input[name=volunteer_minutes]").forEach(function (input) { input.value = ""; }); if (form.elements.photos) form.elements.photos.value = ""; return; }
          if (mine.state === "refused") { remove(mine.client_id).then(render); done.hidden = true; show(form, mine.field || "_form", mine.message); return; }
          done.textContent = "暂无信号：活动记录已保存在手机上，有信号后自动发送";
        });
      }, function () { show(form, "_form", "无法在手机上保存记录（浏览器存储不可用），请检查浏览器设置"); });
    });
  }
  function show(form, field, message) {
    var el = form.querySelector("[data-error='" + field + "']") || form.querySelector("[data-error='_form']");
    el.textContent = message; el.hidden = false; el.scrollIntoView({ block: "center" });
  }

  document.querySelectorAll("form.activity-form").forEach(setUpForm);
  window.addEventListener("online", flush);
  window.addEventListener("offline", render);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) flush(); });
  setInterval(flush, 20000);
  flush();
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/delivery-sw.js", { scope: "/community/delivery/log" }).catch(function () {});
})();
