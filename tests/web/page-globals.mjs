// @ts-check
// The little of `document` that texts.js reads when it loads (the embedded translations and
// the page's language), for modules whose texts Node's test runner checks. Import this module
// before them (ES modules run in import order). Not a test file itself.

const page = /** @type {any} */ (globalThis);
page.document ??= {
  getElementById: () => null,
  documentElement: { lang: 'nl' },
};
