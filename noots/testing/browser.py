"""Debian chromium for Playwright: where it is and how to start it headless in CI; and the
layout check every page of the landscape must pass.

with sync_playwright() as playwright:
    browser = playwright.chromium.launch(
        executable_path=str(chromium_path()), args=CHROMIUM_ARGS
    )
    context = browser.new_context(viewport={"width": 375, "height": 800})
    context.add_init_script(path=str(axe_path()))    # axe-core, before the page's scripts
    page = context.new_page()
    page.goto(url)
    assert check_page(page).problems() == []

:func:`check_page` **measures** what a user would see: the page is no wider than the window
(``document.documentElement.scrollWidth <= innerWidth``, no horizontal scrolling) at each of
:data:`WIDTHS`, and axe-core finds no accessibility violation. axe-core comes from npm
(``make setup`` runs ``npm install axe-core`` into the checkout's ``node_modules``; no CDN); it
is injected as an init script, which the pages' Content-Security-Policy does not apply to, so
the pages are measured under their real policy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "WIDTHS",
    "PageCheck",
    "axe_path",
    "check_page",
    "chromium_path",
]

#: Debian's chromium package (``apt-get install chromium``).
CHROMIUM = Path("/usr/bin/chromium")
#: Headless, as root in a container, and without any call home that could stall a test.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Window widths no page may scroll sideways at: a phone, a tablet, a laptop (the projector).
WIDTHS = (375, 768, 1366)
#: axe-core as ``make setup`` installs it (npm, into the checkout).
_AXE_IN_CHECKOUT = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"

_MEASURE = """async () => {
  // Measure what stays on screen: elements fading in have not reached their colours yet.
  const settled = Promise.all(document.getAnimations().map((a) => a.finished.catch(() => null)));
  await Promise.race([settled, new Promise((done) => setTimeout(done, 5000))]);
  const width = document.documentElement.scrollWidth;
  const sticking = [];
  for (const node of document.querySelectorAll("body *")) {
    const box = node.getBoundingClientRect();
    if (box.width && box.right > innerWidth + 1 && getComputedStyle(node).position !== "fixed") {
      const classes = node.classList.length ? "." + [...node.classList].join(".") : "";
      const id = node.id ? "#" + node.id : "";
      sticking.push(`${node.tagName.toLowerCase()}${id}${classes} → ${Math.round(box.right)} px`);
    }
  }
  const result = await window.axe.run(document, { resultTypes: ["violations"] });
  return {
    scrollWidth: width,
    innerWidth: innerWidth,
    sticking: sticking.slice(0, 8),
    violations: result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
    })),
  };
}"""


def chromium_path() -> Path:
    """``NOOTS_CHROMIUM`` if set, else Debian's chromium."""
    return Path(os.environ.get("NOOTS_CHROMIUM", CHROMIUM))


def axe_path() -> Path:
    """axe-core's ``axe.min.js``: ``NOOTS_AXE_CORE`` if set, else the checkout's
    ``node_modules`` (``make setup``); :class:`FileNotFoundError` naming the fix if missing."""
    path = Path(os.environ.get("NOOTS_AXE_CORE", _AXE_IN_CHECKOUT))
    if not path.is_file():
        raise FileNotFoundError(
            f"axe-core is missing at {path}: run `make setup` (it runs `npm install axe-core`) "
            "or point NOOTS_AXE_CORE at an axe.min.js"
        )
    return path


@dataclass(frozen=True)
class PageCheck:
    """What :func:`check_page` measured on one page at one width."""

    url: str
    scroll_width: int
    inner_width: int
    #: Elements whose right edge is beyond the window (to find the culprit).
    sticking_out: tuple[str, ...]
    #: axe-core violations: id, impact, help and the first nodes.
    violations: tuple[dict[str, Any], ...]

    @property
    def fits(self) -> bool:
        return self.scroll_width <= self.inner_width

    def problems(self) -> list[str]:
        """Empty when the page fits and axe-core found nothing; else one line per problem."""
        found = []
        if not self.fits:
            found.append(
                f"{self.url} at {self.inner_width} px is {self.scroll_width} px wide: "
                + "; ".join(self.sticking_out)
            )
        found.extend(
            f"{self.url} at {self.inner_width} px: axe {v['id']} ({v['impact']}): {v['help']} "
            f"– {', '.join(v['nodes'])}"
            for v in self.violations
        )
        return found


def check_page(page: Any) -> PageCheck:
    """Measure the Playwright ``page`` as it is now (axe-core must have been injected with
    ``context.add_init_script(path=str(axe_path()))``)."""
    measured = page.evaluate(_MEASURE)
    return PageCheck(
        url=str(page.url),
        scroll_width=int(measured["scrollWidth"]),
        inner_width=int(measured["innerWidth"]),
        sticking_out=tuple(measured["sticking"]),
        violations=tuple(measured["violations"]),
    )
