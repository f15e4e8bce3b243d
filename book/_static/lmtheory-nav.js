/*
 * Makes the sidebar toggles of the book's pages work (registered in _config.yml).
 *
 * sphinx-book-theme 1.3.0 puts its own "chapter list" (.primary-toggle) and "page contents"
 * (.secondary-toggle) buttons in the article header, but pydata-sphinx-theme 0.17.1 also renders
 * buttons with the same classes in its top navigation bar, which the book theme hides. Both themes
 * attach their click handlers with document.querySelector, that is to the FIRST button of each
 * class in the page: the hidden one. The visible buttons therefore did nothing (on a phone, the
 * chapter list could not be opened at all). See executablebooks/sphinx-book-theme#917.
 *
 * The fix: a click on any other button of the same class is passed on to the button the themes
 * listen to, so the themes' own behaviour runs (a dialog on narrow screens, collapsing the chapter
 * list on wide ones).
 */
document.addEventListener("DOMContentLoaded", () => {
  for (const selector of [".sidebar-toggle.primary-toggle", ".sidebar-toggle.secondary-toggle"]) {
    const [listened, ...others] = document.querySelectorAll(selector);
    for (const button of others) {
      button.addEventListener("click", (event) => {
        event.preventDefault();
        event.stopPropagation();
        button.blur(); // dismisses the button's tooltip, as the themes do for theirs
        listened.click();
      });
    }
  }
});
