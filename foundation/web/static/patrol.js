/* The patrol's sending. A filed patrol is first kept in the phone's outbox (outbox.js), then sent: photos one by one, then
   the record. With no signal it stays queued and is sent when the signal returns; the record's client id makes a
   resend safe (the server answers a repeat with the record it already has). */
(function () {
  "use strict";
  var user = document.body.dataset.user || "";
  var csrf = window.PhoneOutbox.csrf(), newClientId = window.PhoneOutbox.newClientId;

  var outbox = window.PhoneOutbox("patrol-outbox", user), all = outbox.all, put = outbox.put, remove = outbox.remove;

  function pad(n) { n = Math.floor(Math.abs(n)); return (n < 10 ? "0" : "") + n; }
  function isoWithOffset(d) {
    var off = -d.getTimezoneOffset();
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" +
      pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + (off >= 0 ? "+" : "-") + pad(off / 60) + ":" + pad(off % 60);
  }
  function when(iso) { return iso.slice(5, 16).replace("T", " "); }

  /* Sending. Outcome per entry: "sent", "waiting" (no network, or log in again) or "refused" (the server said no). */
  function send(url, options) {
    options.credentials = "same-origin";
    options.redirect = "manual";
    options.headers = Object.assign({ "x-csrftoken": csrf }, options.headers || {});
    return fetch(url, options);
  }
  function sendEntry(entry) {
    var chain = Promise.resolve();
    entry.results.forEach(function (result) {
      (result.photos || []).forEach(function (photo) {
        chain = chain.then(function () {
          if (photo.id) return;
          var form = new FormData();
          form.append("file", photo.blob, photo.name || "photo.jpg");
          return send("/patrol/photos", { method: "POST", body: form }).then(function (response) {
            if (response.status === 201) return response.json().then(function (body) { photo.id = body.id; return put(entry); });
            throw response;
          });
        });
      });
    });
    return outbox.settle(entry, chain.then(function () {
      var body = {
        client_id: entry.client_id, estate_id: entry.estate_id, inspected_at: entry.inspected_at, note: entry.note,
        results: entry.results.map(function (r) {
          var out = { item: r.item, passed: r.passed };
          if (!r.passed) { out.defects = r.defects; out.note = r.note; out.photo_ids = r.photos.map(function (p) { return p.id; }); }
          return out;
        })
      };
      if (entry.location) body.location = entry.location;
      else if (entry.location_missing) body.location_missing = entry.location_missing;
      return send("/patrol/records", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    }), "服务器拒绝了这条巡查");
  }
  function flush() {
    return outbox.flush(sendEntry, function (entry) {
      document.dispatchEvent(new CustomEvent("patrol-sent", { detail: { client_id: entry.client_id, estate_id: entry.estate_id } }));
    }).then(render);
  }

  /* The outbox on the page, and what it means for the day's list and the estate's count: a patrol kept on the phone
     is not 未巡查 (it waits to be sent, or was refused and waits to be filled in again). */
  function render() {
    return outbox.render("巡查", function (e) { return e.estate_name + " · " + when(e.inspected_at); }, function (e) {
      return "/patrol/estates/" + e.estate_id + "?redo=" + encodeURIComponent(e.client_id);
    }).then(function () { return all(); }).then(function (entries) {
      var kept = {};
      entries.forEach(function (e) { (kept[e.estate_id] = kept[e.estate_id] || []).push(e); });
      document.querySelectorAll("ul.estates li[data-estate]").forEach(function (li) {
        var mine = kept[li.dataset.estate] || [], status = li.querySelector(".status");
        if (!status) return;
        if (!li.dataset.served) li.dataset.served = status.textContent;
        var refused = mine.filter(function (e) { return e.state === "refused"; }).length, waiting = mine.length - refused;
        var extra = (waiting ? waiting + " 次待发送" : "") + (waiting && refused ? "，" : "") + (refused ? refused + " 次被退回" : "");
        status.textContent = !extra ? li.dataset.served : li.classList.contains("todo") ? extra : li.dataset.served + " · " + extra;
        li.classList.toggle("kept", mine.length > 0);
      });
      var count = document.getElementById("kept-today"), form = document.getElementById("patrol-form");
      if (count && form) {
        var here = (kept[form.dataset.estateId] || []).length;
        count.textContent = here ? "（另有 " + here + " 次保存在手机上，尚未被服务器接收）" : "";
      }
    });
  }
  /* A patrol the server took counts at once in the estate's 今天已提交巡查 line. */
  document.addEventListener("patrol-sent", function (e) {
    var shown = document.getElementById("filed-today"), form = document.getElementById("patrol-form");
    if (shown && form && e.detail.estate_id === parseInt(form.dataset.estateId, 10)) shown.textContent = String(parseInt(shown.textContent, 10) + 1);
  });

  /* The checklist form. */
  function showError(id, message) {
    var el = document.getElementById("error-" + id);
    if (!el) el = document.getElementById("error-_form");
    el.textContent = message; el.hidden = false;
    return el;
  }
  function clearErrors(form) { form.querySelectorAll(".field-error, .form-error").forEach(function (el) { el.hidden = true; el.textContent = ""; }); }
  /* The position, asked once per patrol (when its form opens) with the browser's permission. A refusal or no fix is
     sent as the reason: the patrol is filed all the same and the street sees it without a location. */
  function askLocation(form) {
    var state = { location: null, missing: "unavailable" };
    var shown = document.getElementById("patrol-location");
    function say(text) { if (shown) shown.textContent = text; }
    if (!navigator.geolocation) { say("位置：此浏览器无法定位，巡查照常提交（记为未提供位置）"); return state; }
    say("位置：正在获取……（请允许浏览器使用位置）");
    navigator.geolocation.getCurrentPosition(function (position) {
      state.location = { latitude: position.coords.latitude, longitude: position.coords.longitude };
      state.missing = null;
      say("位置：已获取（误差约 " + Math.round(position.coords.accuracy) + " 米）");
    }, function (error) {
      state.missing = error.code === 1 ? "refused" : "unavailable";
      say(error.code === 1 ? "位置：未获授权，巡查照常提交（记为拒绝提供位置）" : "位置：暂时无法定位，巡查照常提交（记为未提供位置）");
    }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
    return state;
  }
  /* A patrol the server refused after it was kept on the phone (?redo=<client id>): its answers are put back in the
     form, its photos kept for the items where no new photo is taken, and the server's reason shown beside the item
     it names. Sending it again files a new patrol and drops the refused one. */
  function refill(form, clientId) {
    return all().then(function (entries) {
      var entry = entries.filter(function (e) { return e.client_id === clientId && e.state === "refused" && e.estate_id === parseInt(form.dataset.estateId, 10); })[0];
      if (!entry) return null;
      entry.results.forEach(function (r) {
        var fieldset = document.getElementById("item-" + r.item);
        if (!fieldset || r.passed) return;
        fieldset.querySelector("input[value=fail]").checked = true;
        fieldset.querySelector(".failed-detail").hidden = false;
        fieldset.querySelector("textarea").value = r.note || "";
        fieldset.querySelector("input[type=number]").value = r.defects || 1;
        if ((r.photos || []).length) {
          var kept = document.createElement("small");
          kept.className = "muted kept-photos"; kept.textContent = "已保留上次的 " + r.photos.length + " 张照片；重新拍照则替换";
          fieldset.querySelector("input[type=file]").insertAdjacentElement("afterend", kept);
        }
      });
      document.getElementById("patrol-note").value = entry.note || "";
      var el = showError(entry.field || "_form", "上次提交被退回：" + entry.message);
      el.scrollIntoView({ block: "center" });
      return entry;
    });
  }
  function setUpForm(form) {
    var where = askLocation(form), redo = null;
    var wanted = new URLSearchParams(window.location.search).get("redo");
    if (wanted) refill(form, wanted).then(function (entry) { redo = entry; });
    form.querySelectorAll("fieldset.item").forEach(function (fieldset) {
      var detail = fieldset.querySelector(".failed-detail");
      fieldset.querySelectorAll("input[type=radio]").forEach(function (radio) {
        radio.addEventListener("change", function () { detail.hidden = !fieldset.querySelector("input[value=fail]").checked; });
      });
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clearErrors(form);
      var results = [], first = null;
      form.querySelectorAll("fieldset.item").forEach(function (fieldset) {
        var code = fieldset.dataset.item, failed = fieldset.querySelector("input[value=fail]").checked;
        if (!failed) { results.push({ item: code, passed: true }); return; }
        var note = fieldset.querySelector("textarea").value.trim();
        var files = Array.prototype.slice.call(fieldset.querySelector("input[type=file]").files || []);
        var before = redo && redo.results.filter(function (r) { return r.item === code && !r.passed; })[0];
        var photos = files.length ? files.map(function (f) { return { blob: f, name: f.name, id: null }; }) : before ? before.photos || [] : [];
        var count = parseInt(fieldset.querySelector("input[type=number]").value, 10);
        var problem = !note ? "不合格项请写明问题" : !photos.length ? "不合格项请至少拍一张照片" : !(count >= 1 && count <= 50) ? "问题处数应为 1 到 50" : null;
        if (problem) { var el = showError("item-" + code, problem); first = first || el; return; }
        results.push({ item: code, passed: false, defects: count, note: note, photos: photos });
      });
      if (first) { first.closest("fieldset").scrollIntoView({ block: "center" }); first.closest("fieldset").querySelector("textarea").focus(); return; }
      var entry = {
        client_id: newClientId(), user: user, estate_id: parseInt(form.dataset.estateId, 10), estate_name: form.dataset.estateName,
        inspected_at: isoWithOffset(new Date()), note: document.getElementById("patrol-note").value.trim(), results: results,
        location: where.location, location_missing: where.location ? null : where.missing,
        state: "waiting", message: "", queued_at: new Date().toISOString()
      };
      var done = document.getElementById("patrol-done"), text = document.getElementById("patrol-done-text");
      put(entry).then(function () {
        if (redo) { var dropped = redo.client_id; redo = null; return remove(dropped); }
      }).then(function () {
        form.hidden = true; done.hidden = false;
        text.textContent = "巡查已保存在手机上，正在发送……";
        document.addEventListener("patrol-sent", function (e) { if (e.detail.client_id === entry.client_id) text.textContent = "巡查已提交。"; });
        return flush();
      }).then(function () {
        return all().then(function (entries) {
          var mine = entries.filter(function (e) { return e.client_id === entry.client_id; })[0];
          if (!mine) { text.textContent = "巡查已提交。"; return; }
          if (mine.state === "refused") {
            remove(mine.client_id).then(render);
            form.hidden = false; done.hidden = true;
            var el = showError(mine.field ? mine.field : "_form", mine.message); el.scrollIntoView({ block: "center" });
            return;
          }
          /* Said once: with no network the outbox's own reason would repeat this sentence; another reason (log in
             again, the server busy) is the news. */
          var offline = !navigator.onLine || mine.message.indexOf("暂无网络") === 0;
          text.textContent = offline ? "暂无信号：巡查已保存在手机上，有信号后自动发送。" : "巡查已保存在手机上，稍后自动发送：" + mine.message;
        });
      }, function () { showError("_form", "无法在手机上保存巡查（浏览器存储不可用），请检查浏览器设置"); });
    });
  }

  var form = document.getElementById("patrol-form");
  if (form) setUpForm(form);
  window.addEventListener("online", flush);
  window.addEventListener("offline", render);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) flush(); });
  setInterval(flush, 20000);
  flush();

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/patrol-sw.js", { scope: "/patrol" }).catch(function () {});
    var list = document.querySelector("[data-precache]");
    if (list && window.caches) {
      var urls = ["/patrol"].concat(Array.prototype.map.call(list.querySelectorAll("a[href^='/patrol/estates/']"), function (a) { return a.getAttribute("href"); }));
      caches.open("patrol-pages").then(function (cache) { return cache.addAll(urls); }).catch(function () {});
    }
  }
})();
