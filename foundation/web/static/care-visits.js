/* The home-care visit log's sending: a saved visit is first kept in the phone's outbox (outbox.js), then sent; with no signal it stays queued and is sent when the signal returns. The visit's client id
   makes a resend safe: the server answers a repeat with the visit it already stored. */
(function () {
  "use strict";
  var user = document.body.dataset.user || "";
  var csrf = window.PhoneOutbox.csrf(), newClientId = window.PhoneOutbox.newClientId;

  var outbox = window.PhoneOutbox("care-outbox", user), all = outbox.all, put = outbox.put, remove = outbox.remove;

  /* Outcome per entry: "sent", "waiting" (no network, or log in again) or "refused" (the server said no). */
  function sendEntry(entry) {
    var body = {
      client_id: entry.client_id, elder_id: entry.elder_id, visit_date: entry.visit_date, minutes: entry.minutes,
      service: entry.service, confirmed_by: entry.confirmed_by, note: entry.note
    };
    return outbox.settle(entry, fetch("/care/visits/records", {
      method: "POST", credentials: "same-origin", redirect: "manual",
      headers: { "content-type": "application/json", "x-csrftoken": csrf }, body: JSON.stringify(body)
    }), "服务器拒绝了这条记录");
  }
  function flush() {
    return outbox.flush(sendEntry, function (entry) {
      document.dispatchEvent(new CustomEvent("visit-sent", { detail: entry.client_id }));
    }).then(render);
  }
  function render() {
    return outbox.render("服务记录", function (e) { return e.elder_name + " · " + e.visit_date + " · " + e.minutes + " 分钟"; });
  }

  function setUpForm(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      form.querySelectorAll("[data-error]").forEach(function (el) { el.hidden = true; el.textContent = ""; });
      var done = form.querySelector(".visit-done");
      done.hidden = true; done.textContent = "";  // the last visit's outcome is not this one's
      var minutes = parseInt(form.elements.minutes.value, 10);
      var min = parseInt(form.elements.minutes.min, 10), max = parseInt(form.elements.minutes.max, 10);
      if (!form.elements.visit_date.value) { show(form, "visit_date", "请选择服务日期"); return; }
      if (!(minutes >= min && minutes <= max)) { show(form, "minutes", "服务时长应为 " + min + " 到 " + max + " 分钟"); return; }
      var entry = {
        client_id: newClientId(), user: user, elder_id: parseInt(form.dataset.elderId, 10), elder_name: form.dataset.elderName,
        visit_date: form.elements.visit_date.value, minutes: minutes, service: form.elements.service.value,
        confirmed_by: form.querySelector("input[name=confirmed_by]:checked").value, note: form.elements.note.value.trim(),
        state: "waiting", message: "", queued_at: new Date().toISOString()
      };
      put(entry).then(function () {
        done.hidden = false; done.textContent = "服务记录已保存在手机上，正在发送……";
        return flush();
      }).then(function () {
        return all().then(function (entries) {
          var mine = entries.filter(function (e) { return e.client_id === entry.client_id; })[0];
          if (!mine) { done.textContent = "服务记录已提交。"; form.elements.note.value = ""; return; }
          if (mine.state === "refused") { remove(mine.client_id).then(render); done.hidden = true; show(form, mine.field || "_form", mine.message); return; }
          done.textContent = "暂无信号：服务记录已保存在手机上，有信号后自动发送";
        });
      }, function () { show(form, "_form", "无法在手机上保存记录（浏览器存储不可用），请检查浏览器设置"); });
    });
  }
  function show(form, field, message) {
    var el = form.querySelector("[data-error='" + field + "']") || form.querySelector("[data-error='_form']");
    el.textContent = message; el.hidden = false; el.scrollIntoView({ block: "center" });
  }

  document.querySelectorAll("form.visit-form").forEach(setUpForm);
  window.addEventListener("online", flush);
  window.addEventListener("offline", render);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) flush(); });
  setInterval(flush, 20000);
  flush();
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/care-sw.js", { scope: "/care/visits" }).catch(function () {});
})();
