/* A phone's outbox (IndexedDB), shared by the pages that file from a phone with no signal (the patrol page, the
   home-care visit log): what was filed is kept here until the server has it. Entries are keyed by their client id
   and belong to the user who filed them. */
(function () {
  "use strict";
  var STORE = "outbox";

  window.PhoneOutbox = function (dbName, user) {
    function openDb() {
      return new Promise(function (resolve, reject) {
        var request = indexedDB.open(dbName, 1);
        request.onupgradeneeded = function () { request.result.createObjectStore(STORE, { keyPath: "client_id" }); };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { reject(request.error); };
      });
    }
    function withStore(mode, work) {
      return openDb().then(function (db) {
        return new Promise(function (resolve, reject) {
          var tx = db.transaction(STORE, mode), result;
          Promise.resolve(work(tx.objectStore(STORE))).then(function (r) { result = r; });
          tx.oncomplete = function () { db.close(); resolve(result); };
          tx.onerror = function () { db.close(); reject(tx.error); };
        });
      });
    }
    var flushing = false;
    var box = {
      sent: 0,  /* entries the server took since the page was opened */
      /* This user's entries, oldest first. */
      all: function () {
        return withStore("readonly", function (store) {
          return new Promise(function (resolve) {
            var request = store.getAll();
            request.onsuccess = function () {
              resolve(request.result.filter(function (e) { return e.user === user; }).sort(function (a, b) { return a.queued_at < b.queued_at ? -1 : 1; }));
            };
          });
        });
      },
      put: function (entry) { return withStore("readwrite", function (store) { store.put(entry); }); },
      remove: function (clientId) { return withStore("readwrite", function (store) { store.delete(clientId); }); }
    };
    /* Settles an entry by the server's answer (a promise of the Response; a non-2xx Response thrown on the way counts
       as the answer): "sent" (removed), "waiting" (kept: no network, log in again, server busy) or "refused" (kept
       with the server's reason and field, to show beside it). */
    box.settle = function (entry, answer, refusedText) {
      function wait(message) { entry.message = message; return box.put(entry).then(function () { return "waiting"; }); }
      return answer.then(function (response) {
        if (response.status === 200 || response.status === 201) return box.remove(entry.client_id).then(function () { return "sent"; });
        throw response;
      }).catch(function (problem) {
        if (!(problem instanceof Response)) return wait("暂无网络，有信号后自动发送");
        if (problem.type === "opaqueredirect" || problem.status === 401 || problem.status === 403) return wait("登录已过期：请重新登录，登录后自动发送");
        if (problem.status >= 500 || problem.status === 429) return wait("服务器忙，稍后自动重试");
        return problem.json().then(function (body) { return body; }, function () { return { message: refusedText + "（" + problem.status + "）" }; }).then(function (body) {
          entry.state = "refused"; entry.message = body.message || refusedText; entry.field = body.field || null;
          return box.put(entry).then(function () { return "refused"; });
        });
      });
    };
    /* Sends the waiting entries in order, one pass at a time, stopping at the first that must keep waiting;
       `onSent(entry)` for each the server took. */
    box.flush = function (sendEntry, onSent) {
      if (flushing) return Promise.resolve();
      flushing = true;
      return box.all().then(function (entries) {
        var chain = Promise.resolve(true);
        entries.filter(function (e) { return e.state === "waiting"; }).forEach(function (entry) {
          chain = chain.then(function (go) {
            if (!go) return false;
            return sendEntry(entry).then(function (outcome) {
              if (outcome === "sent") { box.sent += 1; onSent(entry); }
              return outcome !== "waiting";
            });
          });
        });
        return chain;
      }).catch(function () {}).then(function () { flushing = false; });
    };
    /* Shows the outbox on the page (#outbox, #outbox-summary, #outbox-items): how many `noun`s wait or were refused,
       each as `describe(entry)` with its state and the server's reason; a refused one can be deleted, or filled in
       again where `redo(entry)` gives the address of its form. */
    box.render = function (noun, describe, redo) {
      var shown = document.getElementById("outbox");
      if (!shown) return Promise.resolve();
      return box.all().then(function (entries) {
        var summary = document.getElementById("outbox-summary"), list = document.getElementById("outbox-items");
        list.innerHTML = "";
        var waiting = entries.filter(function (e) { return e.state === "waiting"; }).length, refused = entries.length - waiting;
        if (!entries.length) {
          shown.hidden = box.sent === 0;
          summary.textContent = "全部" + noun + "已发送（本次发送 " + box.sent + " 条）";
          return;
        }
        shown.hidden = false;
        var parts = [];
        if (waiting) parts.push(waiting + " 条" + noun + "等待发送" + (navigator.onLine ? "" : "（当前无网络，已保存在手机上）"));
        if (refused) parts.push(refused + " 条" + noun + "被退回，请查看原因");
        summary.textContent = parts.join("；");
        entries.forEach(function (e) {
          var li = document.createElement("li");
          li.textContent = describe(e) + " · " + (e.state === "waiting" ? "等待发送" : "被退回") + (e.message ? "：" + e.message : "");
          if (e.state === "refused") {
            if (redo) {
              var again = document.createElement("a");
              again.href = redo(e); again.textContent = "重新填写"; again.className = "button";
              li.appendChild(document.createTextNode(" ")); li.appendChild(again);
            }
            var drop = document.createElement("button");
            drop.type = "button"; drop.textContent = "删除这条";
            drop.addEventListener("click", function () { box.remove(e.client_id).then(function () { return box.render(noun, describe, redo); }); });
            li.appendChild(document.createTextNode(" ")); li.appendChild(drop);
          }
          list.appendChild(li);
        });
      });
    };
    return box;
  };

  /* The page's CSRF token (set on <body hx-headers> by the layout). */
  window.PhoneOutbox.csrf = function () {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrftoken"] || ""; } catch (e) { return ""; }
  };
  /* A new client id for an entry: what makes a resend of it safe. */
  window.PhoneOutbox.newClientId = function () {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16); crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  };
})();
