// The band's page (爱洒回家路): report the scan once the page is open (a GET never writes), and share the finder's
// location only when they ask for it.
(function () {
  "use strict";
  var root = document.querySelector("[data-finder]");
  if (!root) { return; }
  var csrf = root.getAttribute("data-csrf");
  var scan = root.getAttribute("data-scan");
  if (scan && !document.getElementById("sent")) {
    fetch(scan, { method: "POST", headers: { "x-csrftoken": csrf }, credentials: "same-origin" }).catch(function () {});
  }
  var button = document.getElementById("share-location");
  var state = document.getElementById("location-state");
  if (!button) { return; }
  button.addEventListener("click", function () {
    if (!navigator.geolocation) { state.textContent = "此浏览器不能分享位置，可直接通知家属。"; return; }
    state.textContent = "正在获取位置……";
    navigator.geolocation.getCurrentPosition(function (position) {
      document.getElementById("latitude").value = position.coords.latitude.toFixed(6);
      document.getElementById("longitude").value = position.coords.longitude.toFixed(6);
      document.getElementById("accuracy").value = Math.round(position.coords.accuracy);
      state.textContent = "已获取位置，将随提醒一起发送。";
    }, function () {
      state.textContent = "未能获取位置，可直接通知家属。";
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });
})();
