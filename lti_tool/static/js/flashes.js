/* Announce the success messages of templates/_flashes.html (WCAG 4.1.3 Status Messages).

   Screen readers announce a live region's change, not what it holds as the page loads, so the page draws the
   messages next to an empty status region, and this moves them into it once the screen reader has seen the
   region empty. The same place on screen (neither box has a margin, padding or border of its own), one reading
   in the page, and the focus stays where it is. A static file: the Content-Security-Policy allows scripts from
   the tool's own address ('self'), and inline ones only with a nonce. */
(function () {
  "use strict";
  // Long enough for the browser to have given assistive technology the page with the region empty (it does so
  // at a rendering update after load), short enough to read as the answer to the form just sent.
  var DELAY_MS = 500;
  var region = document.getElementById("flashes");
  var shown = document.getElementById("flashes-shown");
  if (!region || !shown || region.getAttribute("role") !== "status") {
    return;
  }
  function announce() {
    window.setTimeout(function () {
      while (shown.firstChild) {
        region.appendChild(shown.firstChild);
      }
    }, DELAY_MS);
  }
  // Counted from the page's load, not from this script's run: a slow page (inside the LMS's frame) is given to
  // assistive technology as it loads, with the region still empty.
  if (document.readyState === "complete") {
    announce();
  } else {
    window.addEventListener("load", announce);
  }
})();
