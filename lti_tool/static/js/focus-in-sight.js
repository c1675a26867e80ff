/* Keyboard focus. Keep what the keyboard focuses in sight inside a region that scrolls sideways: the class skill map
   (templates/_skill_map.html) and the wide tables (.table-wrap: the class view, class activity, ...).

   On a phone such a region scrolls in its own box. Chromium moves it for a focused link only when the link is
   wholly out of sight, so a keyboard user tabbing to the next column saw a sliver of it (a skill map box with its
   name and numbers cut off, a column heading's link) until the one after. Scroll just enough to show all of it, and
   not under a table's row heading that stays put at the left (the class view's student names). */
(function () {
  "use strict";
  document.querySelectorAll(".skill-map-wrap, .table-wrap").forEach(function (region) {
    region.addEventListener("focusin", function (event) {
      var target = event.target;
      if (target === region) {
        return;
      }
      target.scrollIntoView({block: "nearest", inline: "nearest"});
      var row = target.closest("tr");
      var pinned = row && row.querySelector("th[scope=row]");
      if (pinned && !pinned.contains(target) && getComputedStyle(pinned).position === "sticky") {
        var hidden = pinned.getBoundingClientRect().right - target.getBoundingClientRect().left;
        if (hidden > 0) {
          region.scrollLeft -= hidden;
        }
      }
    });
  });
})();

/* Inside an LMS's frame, the page's first move for the keyboard (`autofocus`: the answer field, "Next up", "Next
   question") was lost: browsers honour `autofocus` only once per top-level page and never in a frame of another
   origin, so every page after the first (after each answer) put a keyboard user back at the start of the page.
   When the page is in a frame that has the focus (the person moved through the tool, not elsewhere on the LMS page)
   and nothing in it has the focus yet, give it to the element marked `autofocus`. */
(function () {
  "use strict";
  if (window.self === window.top) {
    return;  // a page of its own: the browser's autofocus already did this
  }
  if (!document.hasFocus()) {
    return;  // the person is elsewhere on the LMS page (its menu, a screen reader reading it): leave them there
  }
  var active = document.activeElement;
  if (active && active !== document.body && active !== document.documentElement) {
    return;  // the browser, or the student, has already put the focus somewhere
  }
  var marked = document.querySelector("[autofocus]");
  if (marked) {
    marked.focus();
  }
})();
