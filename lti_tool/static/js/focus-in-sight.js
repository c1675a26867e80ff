/* Keep what the keyboard focuses in sight inside a region that scrolls sideways: the class skill map
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
