/* Show the page's moments (<time data-local> from the `local_time` filter, lti_tool/web/i18n.py) in the reader's
   own time zone. LTI tells the tool no time zone, so the page says "2026-12-02 14:05 UTC"; the browser knows
   the reader's, and this rewrites each moment short and friendly ("Tue 1 Dec, 14:05") in the page's language.
   Without script, or with a date the browser cannot read, the UTC text stays: still right. A static file: the
   Content-Security-Policy allows scripts from the tool's own address ('self'), and inline ones only with a nonce. */
(function () {
  "use strict";
  var times = document.querySelectorAll("time[data-local]");
  if (!times.length || !window.Intl || !Intl.DateTimeFormat) {
    return;
  }
  var language = document.documentElement.lang || undefined;
  // The pages' English writes dates day first ("2 December 2026", friendly_date); Intl's bare "en" is American.
  var locale = language === "en" ? "en-GB" : language;
  var thisYear = new Date().getFullYear();

  function options(style, moment) {
    if (style === "date") {
      return {day: "numeric", month: "long", year: "numeric"};
    }
    var shown = {weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit"};
    if (moment.getFullYear() !== thisYear) {
      shown.year = "numeric";  // an older moment names its year
    }
    return shown;
  }

  times.forEach(function (time) {
    var moment = new Date(time.getAttribute("datetime"));
    if (isNaN(moment.getTime())) {
      return;
    }
    var text;
    try {
      text = new Intl.DateTimeFormat(locale, options(time.getAttribute("data-local"), moment)).format(moment);
    } catch (e) {
      return;  // a language the browser does not know: the UTC text stays
    }
    time.title = time.textContent;  // the moment as stored (UTC), for whoever wants it exactly
    time.textContent = text;
  });
})();
