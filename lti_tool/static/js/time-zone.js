/* Let a teacher type the Deep Linking picker's dates in their own time zone (templates/teacher/deep_link.html).

   LTI tells the tool no time zone; the browser knows the teacher's. This names it (IANA, "Europe/Madrid") in the
   form's hidden time_zone field, which the server reads the typed dates in (services/placements.picker_zone), and
   in each label's [data-time-zone-name], so the teacher sees which zone a time means. The offset now goes too,
   for a server whose time zone database lacks the name. Without script, or without Intl, all stays UTC: the
   labels say UTC and the server reads UTC. A static file: the Content-Security-Policy allows scripts from the
   tool's own address ('self'). */
(function () {
  "use strict";
  var field = document.querySelector("input[data-time-zone]");
  if (!field || !window.Intl || !Intl.DateTimeFormat) {
    return;
  }
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {
    return;
  }
  if (!zone) {
    return;  // a browser that does not name its zone: UTC stays, as the labels say
  }
  field.value = zone;
  var offset = document.querySelector("input[data-utc-offset]");
  if (offset) {
    offset.value = String(-new Date().getTimezoneOffset());  // minutes east of UTC
  }
  document.querySelectorAll("[data-time-zone-name]").forEach(function (name) {
    name.textContent = zone;
  });
})();
