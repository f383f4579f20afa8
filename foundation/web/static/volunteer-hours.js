/* The volunteer's hours log on the phone: a filled-in entry is first kept in the phone's outbox (outbox.js), then sent;
   with no signal it stays queued and is sent when the signal returns. The entry's client id makes a resend safe: the
   server answers a repeat with the hours it already stored, never a second entry. */
(function () {
  "use strict";
  var user = document.body.dataset.user || "";
  var csrf = window.PhoneOutbox.csrf(), newClientId = window.PhoneOutbox.newClientId;
  var outbox = window.PhoneOutbox("volunteer-outbox", user), all = outbox.all, remove = outbox.remove;

  function sendEntry(entry) {
    var body = { client_id: entry.client_id, served_on: entry.served_on, minutes: entry.minutes, activity: entry.activity };
    if (entry.need_id) body.need_id = entry.need_id;
    if (entry.team_id) body.team_id = entry.team_id;
    return outbox.settle(entry, fetch("/volunteer/hours/records", {
      method: "POST", credentials: "same-origin", redirect: "manual",
      headers: { "content-type": "application/json", "x-csrftoken": csrf }, body: JSON.stringify(body)
    }), "服务器拒绝了这条时长记录");
  }
  function flush() {
    return outbox.flush(sendEntry, function (entry) {
      document.dispatchEvent(new CustomEvent("hours-sent", { detail: entry.client_id }));
    }).then(render);
  }
  function render() {
    return outbox.render("服务时长", function (e) { return e.served_on + " · " + e.minutes + " 分钟 · " + e.activity; });
  }
  function show(form, field, message) {
    var el = form.querySelector("[data-error='" + field + "']") || form.querySelector("[data-error='_form']");
    el.textContent = message; el.hidden = false; el.scrollIntoView({ block: "center" });
  }

  function setUpForm(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      form.querySelectorAll("[data-error]").forEach(function (el) { el.hidden = true; el.textContent = ""; });
      var done = form.querySelector(".hours-done");
      done.hidden = true; done.textContent = "";
      var minutes = parseInt(form.elements.minutes.value, 10), max = parseInt(form.elements.minutes.max, 10);
      var target = (form.elements.target.value || "").split(":"), activity = form.elements.activity.value.trim();
      if (!form.elements.served_on.value) { show(form, "served_on", "请选择服务日期"); return; }
      if (!(minutes >= 1 && minutes <= max)) { show(form, "minutes", "服务时长应为 1 到 " + max + " 分钟"); return; }
      if (activity.length < 2) { show(form, "activity", "请填写服务内容"); return; }
      var entry = {
        client_id: newClientId(), user: user, served_on: form.elements.served_on.value, minutes: minutes, activity: activity,
        need_id: target[0] === "need" ? parseInt(target[1], 10) : null, team_id: target[0] === "team" ? parseInt(target[1], 10) : null,
        state: "waiting", message: "", queued_at: new Date().toISOString()
      };
      outbox.put(entry).then(function () {
        done.hidden = false; done.textContent = "时长记录已保存在手机上，正在发送……";
        return flush();
      }).then(function () {
        return all().then(function (entries) {
          var mine = entries.filter(function (e) { return e.client_id === entry.client_id; })[0];
          if (!mine) { done.textContent = "时长已提交，等待审核。刷新页面可看到审核结果。"; form.elements.activity.value = ""; return; }
          if (mine.state === "refused") { remove(mine.client_id).then(render); done.hidden = true; show(form, mine.field || "_form", mine.message); return; }
          done.textContent = "暂无信号：时长记录已保存在手机上，有信号后自动发送";
        });
      }, function () { show(form, "_form", "无法在手机上保存记录（浏览器存储不可用），请检查浏览器设置"); });
    });
  }

  document.querySelectorAll("form.hours-form").forEach(setUpForm);
  window.addEventListener("online", flush);
  window.addEventListener("offline", render);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) flush(); });
  setInterval(flush, 20000);
  flush();
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/volunteer-sw.js", { scope: "/volunteer" }).catch(function () {});
})();
